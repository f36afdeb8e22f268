// The site distribution's viewer-request function (CloudFront Functions, cloudfront-js-2.0).
// `lamp init` copies this code into template.yaml; each concern below is one block.

// The site's main domain: `lamp deploy` writes lamp.json's "domain" here. Empty: no custom domain.
var mainDomain = '';

function handler(event) {
  var request = event.request;
  var host = request.headers.host ? request.headers.host.value.toLowerCase() : '';

  // Custom domain: every other host (the *.cloudfront.net name, the extra names) is sent to the
  // main domain, path and query kept, so the site has one address.
  if (mainDomain && host !== mainDomain) {
    return {
      statusCode: 301,
      statusDescription: 'Moved Permanently',
      headers: { location: { value: 'https://' + mainDomain + request.uri + queryString(request.querystring) } },
    };
  }

  // API Gateway must receive its own Host header (forwarding the viewer's gives 403s),
  // so the viewer's host reaches PHP as X-Forwarded-Host instead.
  if (host) {
    request.headers['x-forwarded-host'] = { value: request.headers.host.value };
  }
  return request;
}

// The query string as the viewer sent it: CloudFront passes it parsed, values still percent-encoded.
function queryString(query) {
  var parts = [];
  for (var name in query) {
    var values = query[name].multiValue || [query[name]];
    for (var i = 0; i < values.length; i++) {
      parts.push(values[i].value === '' ? name : name + '=' + values[i].value);
    }
  }
  return parts.length > 0 ? '?' + parts.join('&') : '';
}

import cf from 'cloudfront';
// The site distribution's viewer-request function (CloudFront Functions, cloudfront-js-2.0; the
// import must be the first line). `lamp init` copies this code into template.yaml; each concern
// below is one block.

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

  // A header name with "_" reaches PHP as the same variable as its "-" twin (X_Forwarded_Host and
  // X-Forwarded-Host are both HTTP_X_FORWARDED_HOST, the later wins), so a viewer could overwrite
  // what CloudFront sets. Dropped, as nginx and Apache drop them by default.
  for (var name in request.headers) {
    if (name.indexOf('_') >= 0) delete request.headers[name];
  }

  // API Gateway must receive its own Host header (forwarding the viewer's gives 403s),
  // so the viewer's host reaches PHP as X-Forwarded-Host instead.
  if (host) {
    request.headers['x-forwarded-host'] = { value: request.headers.host.value };
  }

  // Static files of the document root (public/favicon.ico, wp-includes/css/x.css): a GET or HEAD
  // of an allow-listed type goes to the bucket (origin DocumentRoot, OriginPath /document-root),
  // and to PHP when the bucket has no such file (S3 answers 403), as try_files $uri ... /index.php
  // would. The query string is dropped on the way: S3 would honour response-content-type and
  // other overrides on a signed request. Keep staticExtensions equal to src/assets/selection.ts.
  if ((request.method === 'GET' || request.method === 'HEAD') && isStaticPath(request.uri)) {
    request.querystring = {};
    cf.createRequestOriginGroup({
      originIds: [{ originId: 'DocumentRoot' }, { originId: 'WebApi' }],
      failoverCriteria: { statusCodes: [403, 404] },
    });
  }
  return request;
}

var staticExtensions = 'css js mjs map wasm png jpg jpeg gif webp avif svg ico bmp apng woff woff2 ttf otf eot ' +
  'mp4 webm ogv mp3 ogg oga m4a wav flac pdf txt webmanifest';

// An allow-listed extension, and no dot-segment (.git/, .env.css, encoded %2e too): only then can
// the bucket hold the file.
function isStaticPath(uri) {
  var name = uri.slice(uri.lastIndexOf('/') + 1);
  var dot = name.lastIndexOf('.');
  if (dot <= 0 || uri.indexOf('/assets/') === 0) return false;
  if (/\/(\.|%2e)/i.test(uri)) return false;
  return (' ' + staticExtensions + ' ').indexOf(' ' + name.slice(dot + 1).toLowerCase() + ' ') >= 0;
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

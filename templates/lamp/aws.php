<?php
/**
 * lamp's AWS client in plain PHP (no Composer: a WordPress site has none): Signature Version 4,
 * the S3 calls WordPress's media need, and SES's SendEmail for mail(). Written into the project by
 * lamp (lamp/aws.php, outside the document root); lamp never overwrites an edited copy.
 *
 * Credentials are the function role's, from the environment Lambda gives PHP (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION). Under `lamp dev`, LAMP_S3_ENDPOINT and
 * LAMP_SES_ENDPOINT point at lamp dev's local stand-ins, with their own keys (LAMP_AWS_ACCESS_KEY_ID,
 * LAMP_AWS_SECRET_ACCESS_KEY): the same requests, signed the same way, stored under .lamp/.
 */

if (!class_exists('Lamp_Aws_Error')) {

final class Lamp_Aws_Error extends RuntimeException
{
    /** @var int */
    public $status;
    /** @var string */
    public $awsCode;

    public function __construct(string $message, int $status = 0, string $awsCode = '')
    {
        parent::__construct($message);
        $this->status = $status;
        $this->awsCode = $awsCode;
    }
}

final class Lamp_Aws_Signer
{
    /** @var string */
    private $accessKey;
    /** @var string */
    private $secretKey;
    /** @var string|null */
    private $sessionToken;
    /** @var string */
    public $region;

    public function __construct(string $accessKey, string $secretKey, ?string $sessionToken, string $region)
    {
        $this->accessKey = $accessKey;
        $this->secretKey = $secretKey;
        $this->sessionToken = $sessionToken !== '' ? $sessionToken : null;
        $this->region = $region;
    }

    /** The function's credentials: lamp dev's stand-in keys when it set them, else the role's. */
    public static function fromEnvironment(): self
    {
        $local = getenv('LAMP_AWS_ACCESS_KEY_ID');
        $access = $local ?: getenv('AWS_ACCESS_KEY_ID');
        $secret = $local ? getenv('LAMP_AWS_SECRET_ACCESS_KEY') : getenv('AWS_SECRET_ACCESS_KEY');
        $token = $local ? null : (getenv('AWS_SESSION_TOKEN') ?: null);
        $region = getenv('AWS_REGION') ?: getenv('AWS_DEFAULT_REGION');
        if (!$access || !$secret || !$region) {
            throw new Lamp_Aws_Error('lamp: no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION): Lambda gives them to the function; lamp dev gives its local stand-ins\' keys.');
        }
        return new self($access, $secret, $token, $region);
    }

    /** RFC 3986 encoding, as SigV4 wants it (also of each path segment). */
    public static function encode(string $value): string
    {
        return str_replace('%7E', '~', rawurlencode($value));
    }

    /**
     * The headers that sign a request: Authorization, X-Amz-Date, X-Amz-Content-Sha256 (and the
     * session token). $path is already encoded; $query is name => value, not encoded.
     *
     * @param array<string,string> $query
     * @param array<string,string> $headers lower-case names
     * @return array<string,string>
     */
    public function sign(string $service, string $method, string $host, string $path, array $query, array $headers, string $payloadHash, ?int $time = null): array
    {
        $time = $time ?? time();
        $amzDate = gmdate('Ymd\THis\Z', $time);
        $date = substr($amzDate, 0, 8);
        $headers['host'] = $host;
        $headers['x-amz-date'] = $amzDate;
        $headers['x-amz-content-sha256'] = $payloadHash;
        if ($this->sessionToken !== null) $headers['x-amz-security-token'] = $this->sessionToken;
        ksort($headers, SORT_STRING);
        $canonicalHeaders = '';
        foreach ($headers as $name => $value) $canonicalHeaders .= $name . ':' . trim(preg_replace('/\s+/', ' ', (string) $value)) . "\n";
        $signedHeaders = implode(';', array_keys($headers));
        $pairs = [];
        foreach ($query as $name => $value) $pairs[self::encode((string) $name)] = self::encode((string) $value);
        ksort($pairs, SORT_STRING);
        $canonicalQuery = implode('&', array_map(function ($name, $value) { return $name . '=' . $value; }, array_keys($pairs), $pairs));
        $canonical = implode("\n", [$method, $path, $canonicalQuery, $canonicalHeaders, $signedHeaders, $payloadHash]);
        $scope = "$date/{$this->region}/$service/aws4_request";
        $toSign = "AWS4-HMAC-SHA256\n$amzDate\n$scope\n" . hash('sha256', $canonical);
        $key = 'AWS4' . $this->secretKey;
        foreach ([$date, $this->region, $service, 'aws4_request'] as $part) $key = hash_hmac('sha256', $part, $key, true);
        $headers['authorization'] = "AWS4-HMAC-SHA256 Credential={$this->accessKey}/$scope, SignedHeaders=$signedHeaders, Signature=" . hash_hmac('sha256', $toSign, $key);
        unset($headers['host']);
        return $headers;
    }
}

/** One HTTP exchange over curl (in Bref's layer). */
final class Lamp_Aws_Http
{
    /**
     * @param array<string,string> $headers
     * @param string|resource|null $body a string, or a stream read to its end
     * @param resource|null $sink where a 2xx body goes instead of memory
     * @return array{status:int, headers:array<string,string>, body:string}
     */
    public static function send(string $method, string $url, array $headers, $body = null, $sink = null): array
    {
        $curl = curl_init($url);
        $responseHeaders = [];
        $lines = [];
        foreach ($headers as $name => $value) $lines[] = "$name: $value";
        $lines[] = 'Expect:';
        // curl would add a form Content-Type to a string body that has none.
        if (is_string($body) && !isset($headers['content-type'])) $lines[] = 'Content-Type:';
        $options = [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_HTTPHEADER => $lines,
            CURLOPT_CONNECTTIMEOUT => 5,
            CURLOPT_TIMEOUT => 25,
            CURLOPT_HEADERFUNCTION => function ($handle, $line) use (&$responseHeaders) {
                $colon = strpos($line, ':');
                if ($colon !== false) $responseHeaders[strtolower(trim(substr($line, 0, $colon)))] = trim(substr($line, $colon + 1));
                return strlen($line);
            },
        ];
        if ($method === 'HEAD') $options[CURLOPT_NOBODY] = true;
        if (is_resource($body)) {
            $options[CURLOPT_UPLOAD] = true;
            $options[CURLOPT_INFILE] = $body;
            $options[CURLOPT_INFILESIZE] = (int) ($headers['content-length'] ?? fstat($body)['size']);
        } elseif ($body !== null) {
            $options[CURLOPT_POSTFIELDS] = $body;
        }
        $buffer = '';
        $status = 0;
        $options[CURLOPT_WRITEFUNCTION] = function ($handle, $chunk) use (&$buffer, $sink, &$status) {
            if ($sink !== null && curl_getinfo($handle, CURLINFO_RESPONSE_CODE) < 300) fwrite($sink, $chunk);
            else $buffer .= $chunk;
            return strlen($chunk);
        };
        curl_setopt_array($curl, $options);
        if (curl_exec($curl) === false) {
            $error = curl_error($curl);
            curl_close($curl);
            throw new Lamp_Aws_Error("lamp: $method $url failed: $error");
        }
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);
        return ['status' => $status, 'headers' => $responseHeaders, 'body' => $buffer];
    }
}

/** The S3 calls WordPress's media need: put (single or multipart), get, head, delete, list. */
final class Lamp_S3
{
    /** Objects larger than this go up in parts (S3 takes 5 GB in one PUT, but a part fails alone). */
    const MULTIPART_THRESHOLD = 16 * 1024 * 1024;
    const PART_SIZE = 8 * 1024 * 1024;

    /** @var Lamp_Aws_Signer */
    private $signer;
    /** @var string */
    public $bucket;
    /** @var string|null a custom endpoint (path-style addressing), e.g. lamp dev's stand-in */
    private $endpoint;
    /** @var int */
    public $partSize;
    /** @var int */
    public $multipartThreshold;

    public function __construct(Lamp_Aws_Signer $signer, string $bucket, ?string $endpoint = null)
    {
        $this->signer = $signer;
        $this->bucket = $bucket;
        $this->endpoint = $endpoint ? rtrim($endpoint, '/') : null;
        $this->partSize = self::PART_SIZE;
        $this->multipartThreshold = self::MULTIPART_THRESHOLD;
    }

    /** The stack's bucket (LAMP_UPLOADS_BUCKET), or null when the function has none. */
    public static function fromEnvironment(): ?self
    {
        $bucket = getenv('LAMP_UPLOADS_BUCKET');
        if (!$bucket) return null;
        return new self(Lamp_Aws_Signer::fromEnvironment(), $bucket, getenv('LAMP_S3_ENDPOINT') ?: null);
    }

    /**
     * @param array<string,string> $query
     * @param array<string,string> $headers
     * @param string|resource|null $body
     * @param resource|null $sink
     * @return array{status:int, headers:array<string,string>, body:string}
     */
    private function request(string $method, string $key, array $query = [], array $headers = [], $body = null, ?string $payloadHash = null, $sink = null): array
    {
        $encodedKey = implode('/', array_map([Lamp_Aws_Signer::class, 'encode'], explode('/', $key)));
        if ($this->endpoint !== null) {
            $parts = parse_url($this->endpoint);
            $host = $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : '');
            $path = '/' . $this->bucket . '/' . $encodedKey;
            $base = $parts['scheme'] . '://' . $host;
        } else {
            $host = $this->bucket . '.s3.' . $this->signer->region . '.amazonaws.com';
            $path = '/' . $encodedKey;
            $base = 'https://' . $host;
        }
        $payloadHash = $payloadHash ?? hash('sha256', is_string($body) ? $body : '');
        $signed = $this->signer->sign('s3', $method, $host, $path, $query, $headers, $payloadHash);
        $queryString = '';
        if ($query) {
            ksort($query, SORT_STRING);
            $queryString = '?' . implode('&', array_map(function ($name, $value) {
                return Lamp_Aws_Signer::encode((string) $name) . ($value === '' ? '=' : '=' . Lamp_Aws_Signer::encode((string) $value));
            }, array_keys($query), $query));
        }
        return Lamp_Aws_Http::send($method, $base . $path . $queryString, $signed, $body, $sink);
    }

    /** @param array{status:int, headers:array<string,string>, body:string} $response */
    private function fail(string $what, array $response): Lamp_Aws_Error
    {
        $code = preg_match('#<Code>([^<]*)</Code>#', $response['body'], $match) ? $match[1] : '';
        $message = preg_match('#<Message>([^<]*)</Message>#', $response['body'], $found) ? $found[1] : '';
        return new Lamp_Aws_Error(trim("lamp: S3 $what in bucket {$this->bucket}: HTTP {$response['status']} $code $message"), $response['status'], $code);
    }

    /** Stores $body (a string, or a readable stream of $size bytes) under $key. */
    public function put(string $key, $body, string $contentType = 'application/octet-stream', ?int $size = null, string $cacheControl = ''): void
    {
        if (!is_string($body)) {
            $size = $size ?? (int) fstat($body)['size'];
            if ($size > $this->multipartThreshold) {
                $this->putInParts($key, $body, $size, $contentType, $cacheControl);
                return;
            }
            $body = stream_get_contents($body);
        }
        $headers = ['content-type' => $contentType, 'content-length' => (string) strlen($body)];
        if ($cacheControl !== '') $headers['cache-control'] = $cacheControl;
        $response = $this->request('PUT', $key, [], $headers, $body);
        if ($response['status'] !== 200) throw $this->fail("PUT $key", $response);
    }

    /** @param resource $stream */
    private function putInParts(string $key, $stream, int $size, string $contentType, string $cacheControl): void
    {
        $headers = ['content-type' => $contentType];
        if ($cacheControl !== '') $headers['cache-control'] = $cacheControl;
        $started = $this->request('POST', $key, ['uploads' => ''], $headers, '');
        if ($started['status'] !== 200 || !preg_match('#<UploadId>([^<]+)</UploadId>#', $started['body'], $match)) throw $this->fail("CreateMultipartUpload $key", $started);
        $uploadId = $match[1];
        $parts = [];
        try {
            for ($number = 1, $sent = 0; $sent < $size; $number++) {
                $chunk = stream_get_contents($stream, min($this->partSize, $size - $sent));
                if ($chunk === false || $chunk === '') throw new Lamp_Aws_Error("lamp: the file for $key ended after $sent of $size bytes");
                $sent += strlen($chunk);
                $part = $this->request('PUT', $key, ['partNumber' => (string) $number, 'uploadId' => $uploadId], ['content-length' => (string) strlen($chunk)], $chunk);
                if ($part['status'] !== 200 || !isset($part['headers']['etag'])) throw $this->fail("UploadPart $number of $key", $part);
                $parts[] = '<Part><PartNumber>' . $number . '</PartNumber><ETag>' . htmlspecialchars($part['headers']['etag'], ENT_XML1) . '</ETag></Part>';
            }
            $xml = '<CompleteMultipartUpload>' . implode('', $parts) . '</CompleteMultipartUpload>';
            $done = $this->request('POST', $key, ['uploadId' => $uploadId], ['content-type' => 'application/xml'], $xml);
            // S3 may answer 200 with an error in the body.
            if ($done['status'] !== 200 || strpos($done['body'], '<Error>') !== false) throw $this->fail("CompleteMultipartUpload $key", $done);
        } catch (Throwable $error) {
            $this->request('DELETE', $key, ['uploadId' => $uploadId]);
            throw $error;
        }
    }

    /** The object's bytes, or null when there is none. With $sink, they are written there instead (returns ''). */
    public function get(string $key, $sink = null): ?string
    {
        $response = $this->request('GET', $key, [], [], null, null, $sink);
        if ($response['status'] === 404 || $response['status'] === 403 && strpos($response['body'], 'NoSuchKey') !== false) return null;
        if ($response['status'] !== 200) throw $this->fail("GET $key", $response);
        return $response['body'];
    }

    /** ['size' => int, 'modified' => int, 'type' => string] of an object, or null when there is none. */
    public function head(string $key): ?array
    {
        $response = $this->request('HEAD', $key);
        if ($response['status'] === 404 || $response['status'] === 403) return null;
        if ($response['status'] !== 200) throw $this->fail("HEAD $key", $response);
        return [
            'size' => (int) ($response['headers']['content-length'] ?? 0),
            'modified' => isset($response['headers']['last-modified']) ? (int) strtotime($response['headers']['last-modified']) : time(),
            'type' => $response['headers']['content-type'] ?? '',
        ];
    }

    public function delete(string $key): void
    {
        $response = $this->request('DELETE', $key);
        if ($response['status'] !== 204 && $response['status'] !== 200) throw $this->fail("DELETE $key", $response);
    }

    /**
     * Keys under $prefix (ListObjectsV2, every page). With a delimiter, the "folders" come back as
     * prefixes ending in it.
     *
     * @return array{keys: string[], prefixes: string[]}
     */
    public function list(string $prefix, string $delimiter = '', int $max = 0): array
    {
        $keys = [];
        $prefixes = [];
        $token = null;
        do {
            $query = ['list-type' => '2', 'prefix' => $prefix];
            if ($delimiter !== '') $query['delimiter'] = $delimiter;
            if ($max > 0) $query['max-keys'] = (string) $max;
            if ($token !== null) $query['continuation-token'] = $token;
            $response = $this->request('GET', '', $query);
            if ($response['status'] !== 200) throw $this->fail("LIST $prefix", $response);
            $xml = simplexml_load_string($response['body']);
            if ($xml === false) throw new Lamp_Aws_Error('lamp: S3 LIST answered something that is not XML');
            foreach ($xml->Contents as $item) $keys[] = (string) $item->Key;
            foreach ($xml->CommonPrefixes as $item) $prefixes[] = (string) $item->Prefix;
            $token = ((string) $xml->IsTruncated === 'true' && $max === 0) ? (string) $xml->NextContinuationToken : null;
        } while ($token !== null && $token !== '');
        return ['keys' => $keys, 'prefixes' => $prefixes];
    }
}

/** SES v2 SendEmail of a raw message: how mail() reaches people from Lambda (lamp/sendmail.php). */
final class Lamp_Ses
{
    /** @var Lamp_Aws_Signer */
    private $signer;
    /** @var string|null */
    private $endpoint;

    public function __construct(Lamp_Aws_Signer $signer, ?string $endpoint = null)
    {
        $this->signer = $signer;
        $this->endpoint = $endpoint ? rtrim($endpoint, '/') : null;
    }

    public static function fromEnvironment(): self
    {
        return new self(Lamp_Aws_Signer::fromEnvironment(), getenv('LAMP_SES_ENDPOINT') ?: null);
    }

    /** @param string[] $to every recipient (To, Cc, Bcc); returns SES's message id */
    public function sendRaw(string $from, array $to, string $message): string
    {
        $base = $this->endpoint ?? 'https://email.' . $this->signer->region . '.amazonaws.com';
        $parts = parse_url($base);
        $host = $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : '');
        $path = '/v2/email/outbound-emails';
        $body = json_encode([
            'FromEmailAddress' => $from,
            'Destination' => ['ToAddresses' => array_values($to)],
            'Content' => ['Raw' => ['Data' => base64_encode($message)]],
        ], JSON_UNESCAPED_SLASHES);
        $headers = $this->signer->sign('ses', 'POST', $host, $path, [], ['content-type' => 'application/json'], hash('sha256', $body));
        $response = Lamp_Aws_Http::send('POST', $parts['scheme'] . '://' . $host . $path, $headers, $body);
        $answer = json_decode($response['body'], true);
        if ($response['status'] !== 200) {
            $reason = is_array($answer) ? ($answer['message'] ?? $answer['Message'] ?? '') : '';
            throw new Lamp_Aws_Error("lamp: SES refused the message from $from: HTTP {$response['status']} $reason", $response['status']);
        }
        return is_array($answer) ? (string) ($answer['MessageId'] ?? '') : '';
    }
}

}

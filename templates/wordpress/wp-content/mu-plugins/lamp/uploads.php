<?php
/**
 * Media in the stack's S3 bucket. The code is read-only in Lambda, so wp-content/uploads cannot be
 * a folder of the site: WordPress's upload folder becomes `lamp-s3://wp-content/uploads`, a stream
 * wrapper over lamp's S3 client, and every file function WordPress uses there (move_uploaded_file,
 * file_put_contents, getimagesize, GD's reads, unlink, scandir…) reads and writes objects under the
 * bucket's wp-content/uploads/ prefix. CloudFront serves that prefix at /wp-content/uploads/*, so
 * URLs stay the site's own. Under `lamp dev` the bucket is lamp dev's stand-in (.lamp/bucket/).
 * Active when the function has LAMP_UPLOADS_BUCKET (lamp sets it when lamp.json says "wordpress").
 */

if (!defined('ABSPATH')) exit;

final class Lamp_S3_Stream
{
    const SCHEME = 'lamp-s3';

    /** @var Lamp_S3|null */
    public static $client;
    /** @var array<string,true> folders made in this request (S3 has none until a file is in them) */
    private static $folders = [];
    /** @var array<string,array|false> HEAD results of this request */
    private static $stats = [];

    /** @var resource|null set by PHP */
    public $context;
    /** @var resource|null */
    private $buffer;
    /** @var string */
    private $key = '';
    /** @var bool */
    private $dirty = false;
    /** @var string[] */
    private $entries = [];

    public static function register(Lamp_S3 $client): void
    {
        self::$client = $client;
        if (!in_array(self::SCHEME, stream_get_wrappers(), true)) stream_wrapper_register(self::SCHEME, self::class);
    }

    private static function keyOf(string $url): string
    {
        $key = substr($url, strlen(self::SCHEME) + 3);
        return trim(preg_replace('#/+#', '/', $key), '/');
    }

    private static function fail(Throwable $error, int $options = STREAM_REPORT_ERRORS): bool
    {
        if ($options & STREAM_REPORT_ERRORS) trigger_error($error->getMessage(), E_USER_WARNING);
        error_log($error->getMessage());
        return false;
    }

    private static function contentType(string $key): string
    {
        if (function_exists('wp_check_filetype')) {
            $type = wp_check_filetype(basename($key));
            if (!empty($type['type'])) return $type['type'];
        }
        return 'application/octet-stream';
    }

    public function stream_open($path, $mode, $options, &$opened)
    {
        $this->key = self::keyOf($path);
        $this->buffer = fopen('php://temp', 'w+b');
        $mode = str_replace(['b', 't'], '', $mode);
        try {
            if ($mode === 'x' || $mode === 'x+') {
                // Exclusive creation: only when there is no such object (no need to fetch it).
                if (self::$client->head($this->key) !== null) return false;
            } elseif ($mode !== 'w' && $mode !== 'w+') {
                $found = self::$client->get($this->key, $this->buffer) !== null;
                if (!$found && ($mode === 'r' || $mode === 'r+')) return false;
                if ($mode === 'a' || $mode === 'a+') fseek($this->buffer, 0, SEEK_END);
                else rewind($this->buffer);
            }
        } catch (Throwable $error) {
            return self::fail($error, $options);
        }
        $this->dirty = $mode !== 'r';
        return true;
    }

    public function stream_read($count) { return fread($this->buffer, $count); }
    public function stream_write($data) { $this->dirty = true; return fwrite($this->buffer, $data); }
    public function stream_eof() { return feof($this->buffer); }
    public function stream_tell() { return ftell($this->buffer); }
    public function stream_seek($offset, $whence) { return fseek($this->buffer, $offset, $whence) === 0; }
    public function stream_truncate($size) { $this->dirty = true; return ftruncate($this->buffer, $size); }
    public function stream_lock($operation) { return true; }
    public function stream_set_option($option, $arg1, $arg2) { return false; }
    public function stream_cast($as) { return false; }

    public function stream_stat()
    {
        $size = fstat($this->buffer)['size'];
        return self::statOf(0100644, $size, time());
    }

    public function stream_flush()
    {
        if (!$this->dirty) return true;
        $this->dirty = false;
        $position = ftell($this->buffer);
        rewind($this->buffer);
        try {
            self::$client->put($this->key, $this->buffer, self::contentType($this->key), fstat($this->buffer)['size'], 'public, max-age=86400');
            unset(self::$stats[$this->key]);
            clearstatcache();
            return true;
        } catch (Throwable $error) {
            return self::fail($error);
        } finally {
            fseek($this->buffer, $position);
        }
    }

    public function stream_close()
    {
        $this->stream_flush();
        fclose($this->buffer);
    }

    public function unlink($path)
    {
        $key = self::keyOf($path);
        try {
            self::$client->delete($key);
            self::$stats[$key] = false;
            // PHP keeps the last stat of a wrapper's path too: file_exists() after this must say false.
            clearstatcache();
            return true;
        } catch (Throwable $error) {
            return self::fail($error);
        }
    }

    public function rename($from, $to)
    {
        $source = self::keyOf($from);
        $target = self::keyOf($to);
        try {
            $body = self::$client->get($source);
            if ($body === null) return false;
            self::$client->put($target, $body, self::contentType($target), null, 'public, max-age=86400');
            self::$client->delete($source);
            self::$stats[$source] = false;
            unset(self::$stats[$target]);
            clearstatcache();
            return true;
        } catch (Throwable $error) {
            return self::fail($error);
        }
    }

    /** S3 has no folders: a folder exists once made, or while a key lies under it. */
    public function mkdir($path, $mode, $options)
    {
        self::$folders[self::keyOf($path)] = true;
        return true;
    }

    public function rmdir($path, $options)
    {
        unset(self::$folders[self::keyOf($path)]);
        return true;
    }

    public function stream_metadata($path, $option, $value)
    {
        // touch() makes an empty object when there is none; chmod/chown mean nothing in S3.
        if ($option !== STREAM_META_TOUCH) return true;
        try {
            if (self::url_stat_key(self::keyOf($path)) === false) self::$client->put(self::keyOf($path), '', self::contentType($path));
            return true;
        } catch (Throwable $error) {
            return self::fail($error);
        }
    }

    private static function statOf(int $mode, int $size, int $time): array
    {
        $stat = ['dev' => 0, 'ino' => 0, 'mode' => $mode, 'nlink' => 1, 'uid' => 0, 'gid' => 0, 'rdev' => 0, 'size' => $size,
            'atime' => $time, 'mtime' => $time, 'ctime' => $time, 'blksize' => -1, 'blocks' => -1];
        return array_merge(array_values($stat), $stat);
    }

    /** @return array|false */
    private static function url_stat_key(string $key)
    {
        if ($key === '' || isset(self::$folders[$key])) return self::statOf(040777, 0, time());
        if (!array_key_exists($key, self::$stats)) {
            $head = self::$client->head($key);
            if ($head !== null) {
                self::$stats[$key] = self::statOf(0100644, $head['size'], $head['modified']);
            } else {
                $under = self::$client->list($key . '/', '', 1);
                self::$stats[$key] = ($under['keys'] || $under['prefixes']) ? self::statOf(040777, 0, time()) : false;
            }
        }
        return self::$stats[$key];
    }

    public function url_stat($path, $flags)
    {
        try {
            return self::url_stat_key(self::keyOf($path));
        } catch (Throwable $error) {
            return self::fail($error, ($flags & STREAM_URL_STAT_QUIET) ? 0 : STREAM_REPORT_ERRORS);
        }
    }

    public function dir_opendir($path, $options)
    {
        $prefix = self::keyOf($path);
        $prefix = $prefix === '' ? '' : $prefix . '/';
        try {
            $listing = self::$client->list($prefix, '/');
        } catch (Throwable $error) {
            return self::fail($error, $options);
        }
        $this->entries = [];
        foreach ($listing['keys'] as $key) if ($key !== $prefix) $this->entries[] = substr($key, strlen($prefix));
        foreach ($listing['prefixes'] as $folder) $this->entries[] = rtrim(substr($folder, strlen($prefix)), '/');
        return true;
    }

    public function dir_readdir()
    {
        $entry = current($this->entries);
        if ($entry === false) return false;
        next($this->entries);
        return $entry;
    }

    public function dir_rewinddir() { reset($this->entries); return true; }
    public function dir_closedir() { $this->entries = []; return true; }
}

if (class_exists('Lamp_S3') && getenv('LAMP_UPLOADS_BUCKET')) {
    Lamp_S3_Stream::register(Lamp_S3::fromEnvironment());
    // WordPress's upload folder, in the bucket; its URL stays the site's own /wp-content/uploads.
    add_filter('upload_dir', function ($dirs) {
        $base = Lamp_S3_Stream::SCHEME . '://wp-content/uploads';
        $dirs['path'] = $base . $dirs['subdir'];
        $dirs['basedir'] = $base;
        return $dirs;
    });
    // The request's own limit (Lambda: 6 MB with its headers) is smaller than PHP's 6M upload limit suggests.
    add_filter('upload_size_limit', function ($bytes) {
        return min($bytes, 5 * 1024 * 1024);
    });
}

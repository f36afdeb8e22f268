<?php
/**
 * PHP sessions in the project's MySQL database, so a login survives from one Lambda instance to the
 * next: each instance has its own /tmp, where PHP's default file sessions would live. Installed by
 * php/lamp-runtime.php for projects with a database (DB_HOST set); `lamp dev` runs the same code
 * against its local MariaDB.
 *
 * - The table (lamp_sessions) is created on first use.
 * - Each session is locked while a request uses it (MySQL's GET_LOCK), as file sessions are with
 *   flock: two requests of one visitor at once do not overwrite each other's changes.
 * - Nothing connects until the app calls session_start(): requests without a session cost nothing.
 * - Expired sessions are removed by PHP's usual garbage collection (session.gc_*).
 * - Ids are checked against the table (session.use_strict_mode, which the runtime layer turns on):
 *   an id the server never issued is replaced, so nobody can plant a session id on a visitor.
 * - A request that cannot get its session's lock within the wait (LAMP_SESSION_LOCK_SECONDS, 20 s
 *   by default) fails with an error, rather than run unlocked and lose another request's changes.
 */

declare(strict_types=1);

namespace Lamp\Runtime;

final class DatabaseSessionHandler implements \SessionHandlerInterface, \SessionUpdateTimestampHandlerInterface
{
    public const TABLE = 'lamp_sessions';
    /** Below Lambda's timeout (28 s): a request waits this long for another one holding the session. */
    private const LOCK_SECONDS = 20;
    /** The longest id PHP issues or accepts (session.sid_length), stored as it is. */
    private const ID_BYTES = 256;
    /** MEDIUMBLOB's limit: a larger session cannot be stored. */
    private const DATA_BYTES = 16777215;

    private ?\PDO $pdo = null;
    private ?string $lock = null;
    private static bool $tableReady = false;

    /** @param array<string, string|false> $env DB_HOST, DB_PORT, DB_DATABASE, DB_USERNAME, DB_PASSWORD */
    public function __construct(private readonly array $env)
    {
    }

    public static function fromEnvironment(): self
    {
        $env = [];
        foreach (['DB_HOST', 'DB_PORT', 'DB_DATABASE', 'DB_USERNAME', 'DB_PASSWORD', 'MYSQL_ATTR_SSL_CA', 'LAMP_SESSION_LOCK_SECONDS'] as $name) {
            $env[$name] = getenv($name);
        }
        return new self($env);
    }

    private function connection(): \PDO
    {
        if ($this->pdo !== null) {
            return $this->pdo;
        }
        $host = (string) $this->env['DB_HOST'];
        $dsn = sprintf('mysql:host=%s;port=%s;dbname=%s;charset=utf8mb4', $host, (string) ($this->env['DB_PORT'] ?: '3306'), (string) $this->env['DB_DATABASE']);
        $options = [\PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION, \PDO::ATTR_EMULATE_PREPARES => false];
        $ca = $this->env['MYSQL_ATTR_SSL_CA'];
        if (is_string($ca) && $ca !== '') {
            // Aurora with the RDS CA bundle, lamp dev's local server with its own CA: TLS, verified.
            $options[\PDO::MYSQL_ATTR_SSL_CA] = $ca;
        } elseif (!in_array($host, ['127.0.0.1', 'localhost', '::1'], true)) {
            // A remote server without a CA named: still TLS (Aurora requires it), encrypted but not
            // verified. Any CA file turns TLS on; the system's does not hold RDS's CA.
            $options[\PDO::MYSQL_ATTR_SSL_CA] = is_file('/etc/pki/tls/certs/ca-bundle.crt') ? '/etc/pki/tls/certs/ca-bundle.crt' : '/etc/ssl/certs/ca-certificates.crt';
            $options[\PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT] = false;
        }
        $this->pdo = new \PDO($dsn, (string) $this->env['DB_USERNAME'], (string) $this->env['DB_PASSWORD'], $options);
        if (!self::$tableReady) {
            $this->pdo->exec(
                'CREATE TABLE IF NOT EXISTS ' . self::TABLE . ' (
                    id VARBINARY(' . self::ID_BYTES . ') NOT NULL PRIMARY KEY,
                    data MEDIUMBLOB NOT NULL,
                    updated_at INT UNSIGNED NOT NULL,
                    KEY updated_at (updated_at)
                ) ENGINE=InnoDB'
            );
            self::$tableReady = true;
        }
        return $this->pdo;
    }

    public function open(string $path, string $name): bool
    {
        $this->connection();
        return true;
    }

    public function close(): bool
    {
        if ($this->pdo !== null && $this->lock !== null) {
            $this->pdo->prepare('SELECT RELEASE_LOCK(?)')->execute([$this->lock]);
        }
        $this->lock = null;
        // Closed with the request: a lock can never outlive the request that took it.
        $this->pdo = null;
        return true;
    }

    public function read(string $id): string|false
    {
        $pdo = $this->connection();
        $lock = 'lamp_session_' . substr(hash('sha256', $id), 0, 40);
        $seconds = $this->lockSeconds();
        $locked = $pdo->prepare('SELECT GET_LOCK(?, ?)');
        $locked->execute([$lock, $seconds]);
        if ((int) $locked->fetchColumn() !== 1) {
            // Running on unlocked would overwrite the other request's changes when this one ends.
            $message = "lamp sessions: another request held this session for {$seconds} s (LAMP_SESSION_LOCK_SECONDS); this request fails rather than run without the session's lock";
            error_log($message);
            throw new \RuntimeException($message);
        }
        $this->lock = $lock;
        $read = $pdo->prepare('SELECT data FROM ' . self::TABLE . ' WHERE id = ?');
        $read->execute([$id]);
        $data = $read->fetchColumn();
        return is_string($data) ? $data : '';
    }

    public function write(string $id, string $data): bool
    {
        if (strlen($data) > self::DATA_BYTES) {
            error_log(sprintf('lamp sessions: this session holds %.1f MB, more than the %d MB the table can store; it was not saved. Keep large data out of $_SESSION (in the database or S3)', strlen($data) / 1048576, self::DATA_BYTES >> 20));
            return false;
        }
        if (strlen($id) > 128) {
            $this->widenOldIdColumn();
        }
        $write = $this->connection()->prepare(
            'INSERT INTO ' . self::TABLE . ' (id, data, updated_at) VALUES (?, ?, ?)
             ON DUPLICATE KEY UPDATE data = VALUES(data), updated_at = VALUES(updated_at)'
        );
        $write->bindValue(1, $id);
        $write->bindValue(2, $data, \PDO::PARAM_LOB);
        $write->bindValue(3, time(), \PDO::PARAM_INT);
        return $write->execute();
    }

    /** The lock wait in seconds: LAMP_SESSION_LOCK_SECONDS, or 20. */
    private function lockSeconds(): int
    {
        $configured = $this->env['LAMP_SESSION_LOCK_SECONDS'] ?? false;
        return is_string($configured) && ctype_digit($configured) && (int) $configured > 0 ? (int) $configured : self::LOCK_SECONDS;
    }

    /** Tables made by earlier versions held ids of up to 128 bytes: widened once, when a longer id comes. */
    private function widenOldIdColumn(): void
    {
        $pdo = $this->connection();
        $width = $pdo->query(
            "SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '" . self::TABLE . "' AND COLUMN_NAME = 'id'"
        )->fetchColumn();
        if ($width !== false && (int) $width < self::ID_BYTES) {
            $pdo->exec('ALTER TABLE ' . self::TABLE . ' MODIFY id VARBINARY(' . self::ID_BYTES . ') NOT NULL');
        }
    }

    public function destroy(string $id): bool
    {
        return $this->connection()->prepare('DELETE FROM ' . self::TABLE . ' WHERE id = ?')->execute([$id]);
    }

    public function gc(int $max_lifetime): int|false
    {
        $gc = $this->connection()->prepare('DELETE FROM ' . self::TABLE . ' WHERE updated_at < ?');
        $gc->execute([time() - $max_lifetime]);
        return $gc->rowCount();
    }

    public function validateId(string $id): bool
    {
        $exists = $this->connection()->prepare('SELECT 1 FROM ' . self::TABLE . ' WHERE id = ?');
        $exists->execute([$id]);
        return $exists->fetchColumn() !== false;
    }

    public function updateTimestamp(string $id, string $data): bool
    {
        return $this->connection()->prepare('UPDATE ' . self::TABLE . ' SET updated_at = ? WHERE id = ?')->execute([time(), $id]);
    }
}

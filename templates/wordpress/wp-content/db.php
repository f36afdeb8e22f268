<?php
/**
 * lamp's database drop-in (written by `lamp init --wordpress`): WordPress's own wpdb, connecting
 * over TLS that is verified against MYSQL_ATTR_SSL_CA (Amazon RDS's CA bundle in Lambda, the local
 * server's own CA under `lamp dev`). WordPress alone can only ask for TLS (MYSQL_CLIENT_FLAGS),
 * which PHP then does not verify: anyone on the path could pose as the database.
 */

if (!class_exists('Lamp_Wpdb')) {
    class Lamp_Wpdb extends wpdb
    {
        public function db_connect($allow_bail = true)
        {
            $ca = getenv('MYSQL_ATTR_SSL_CA');
            if (!$ca || !function_exists('mysqli_init')) return parent::db_connect($allow_bail);
            $this->is_mysql = true;
            mysqli_report(MYSQLI_REPORT_OFF);
            $this->dbh = mysqli_init();
            // With a CA, mysqlnd checks the server's certificate and its name.
            mysqli_ssl_set($this->dbh, null, null, $ca, null, null);
            $host = $this->dbhost;
            $port = null;
            $socket = null;
            $data = $this->parse_db_host($this->dbhost);
            if ($data) {
                list($host, $port, $socket, $is_ipv6) = $data;
                if ($is_ipv6 && extension_loaded('mysqlnd')) $host = "[$host]";
            }
            $connected = @mysqli_real_connect($this->dbh, $host, $this->dbuser, $this->dbpassword, null, $port, $socket, MYSQLI_CLIENT_SSL);
            if (!$connected) {
                error_log('lamp: cannot connect to the database at ' . $this->dbhost . ' over verified TLS: ' . mysqli_connect_error());
                $this->dbh = null;
                if (!$allow_bail) return false;
                wp_load_translations_early();
                $this->bail('<h1>' . __('Error establishing a database connection') . '</h1>', 'db_connect_fail');
                return false;
            }
            if (!$this->has_connected) $this->init_charset();
            $this->has_connected = true;
            $this->set_charset($this->dbh);
            $this->ready = true;
            $this->set_sql_mode();
            $this->select($this->dbname, $this->dbh);
            return true;
        }
    }
}

$wpdb = new Lamp_Wpdb(DB_USER, DB_PASSWORD, DB_NAME, DB_HOST);

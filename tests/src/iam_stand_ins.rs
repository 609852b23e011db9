//! The AWS an app in `iam` isolation talks to: moto (for STS) and a new table on the shared
//! DynamoDB Local, behind one [`AwsFrontDoor`] that records every call, with the SDK settings
//! the functions would load pointed at that front door.

use aws_config::{Region, SdkConfig};
use taskgate::aws::{load, sdk_config_loader};

use crate::aws_front_door::AwsFrontDoor;
use crate::dynamodb_local::{self, REGION, test_credentials};
use crate::moto::Moto;

/// Running stand-ins for `iam` isolation; moto stops when this (or `moto`) is dropped.
pub struct IamStandIns {
    /// The STS behind the front door.
    pub moto: Moto,
    /// A table no other test uses, on the shared DynamoDB Local.
    pub table: String,
    /// The one endpoint every AWS call goes to.
    pub aws: AwsFrontDoor,
    /// SDK settings as `taskgate::aws::load` makes them, with the front door as endpoint and the
    /// test region and credentials.
    pub config: SdkConfig,
}

impl IamStandIns {
    /// Starts moto, makes the table, starts the front door and loads the SDK settings.
    pub async fn start() -> Self {
        let moto = Moto::start();
        let local = dynamodb_local::shared();
        let table = local.new_table().await;
        let aws = AwsFrontDoor::start(local.endpoint(), Some(moto.endpoint())).await;
        let config = load(
            sdk_config_loader()
                .endpoint_url(&aws.endpoint)
                .region(Region::new(REGION))
                .credentials_provider(test_credentials()),
        )
        .await
        .expect("SDK settings");
        Self {
            moto,
            table,
            aws,
            config,
        }
    }
}

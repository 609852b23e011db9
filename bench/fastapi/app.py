"""Cold-start baseline: the "Better Auth + FastAPI" recipe's list route as a Lambda function.

FastAPI behind Mangum, run by AWS's Python runtime interface client (`python -m awslambdaric
app.handler`): verifies the EdDSA token (PyJWT) against the inline `AUTH_JWKS`, or the JWKS at
`AUTH_JWKS_URL` (PyJWKClient, fetched on the first request and cached, over HTTPS trusting the
system's roots plus `AUTH_JWKS_CA_BUNDLE`), checks the path user, then with `DATA_ISOLATION=iam`
assumes `TENANT_ROLE_ARN` tagged with the user (once per user), and lists the user's tasks with
one DynamoDB Query (boto3). Started by tests/benches/coldstart.
"""

import hashlib
import os
import ssl

import boto3
import jwt
from boto3.dynamodb.conditions import Key
from fastapi import FastAPI, Header, HTTPException
from mangum import Mangum

TABLE_NAME = os.environ["TASKS_TABLE"]
TABLE = boto3.resource("dynamodb").Table(TABLE_NAME)
JWKS_URL = os.environ.get("AUTH_JWKS_URL")
if JWKS_URL:
    context = ssl.create_default_context()
    if os.environ.get("AUTH_JWKS_CA_BUNDLE"):
        context.load_verify_locations(os.environ["AUTH_JWKS_CA_BUNDLE"])
    JWKS_CLIENT = jwt.PyJWKClient(JWKS_URL, ssl_context=context)
else:
    JWKS = jwt.PyJWKSet.from_json(os.environ["AUTH_JWKS"])
TENANT_ROLE = None
if os.environ.get("DATA_ISOLATION") == "iam":
    TENANT_ROLE = os.environ["TENANT_ROLE_ARN"]
STS = boto3.client("sts") if TENANT_ROLE else None
TENANT_TABLES = {}

app = FastAPI()


def signing_key(token):
    if JWKS_URL:
        return JWKS_CLIENT.get_signing_key_from_jwt(token)
    return JWKS[jwt.get_unverified_header(token)["kid"]]


def table_for(user_id):
    """The table with the user's own credentials in iam isolation."""
    if not TENANT_ROLE:
        return TABLE
    if user_id not in TENANT_TABLES:
        credentials = STS.assume_role(
            RoleArn=TENANT_ROLE,
            RoleSessionName="fastapi-" + hashlib.sha256(user_id.encode()).hexdigest()[:16],
            Tags=[{"Key": "taskgate_user", "Value": user_id}],
        )["Credentials"]
        dynamodb = boto3.resource(
            "dynamodb",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        TENANT_TABLES[user_id] = dynamodb.Table(TABLE_NAME)
    return TENANT_TABLES[user_id]


@app.get("/api/{user_id}/tasks")
def list_tasks(user_id: str, authorization: str = Header()):
    token = authorization.removeprefix("Bearer ")
    try:
        claims = jwt.decode(
            token,
            signing_key(token),
            algorithms=["EdDSA"],
            audience=os.environ["AUTH_AUDIENCE"],
            issuer=os.environ["AUTH_ISSUER"],
        )
    except (jwt.PyJWTError, KeyError) as error:
        raise HTTPException(status_code=401) from error
    if claims["sub"] != user_id:
        raise HTTPException(status_code=403)
    items = table_for(user_id).query(
        KeyConditionExpression=Key("user_id").eq(user_id), ScanIndexForward=False, Limit=50
    )["Items"]
    return {"count": len(items)}


handler = Mangum(app, lifespan="off")

"""Cold-start baseline: the "Better Auth + FastAPI" recipe's list route as a Lambda function.

FastAPI behind Mangum, run by AWS's Python runtime interface client (`python -m awslambdaric
app.handler`): verifies the EdDSA token against the inline JWKS (PyJWT), checks the path user,
lists the user's tasks with one DynamoDB Query (boto3). Started by tests/benches/coldstart.
"""

import os

import boto3
import jwt
from boto3.dynamodb.conditions import Key
from fastapi import FastAPI, Header, HTTPException
from mangum import Mangum

JWKS = jwt.PyJWKSet.from_json(os.environ["AUTH_JWKS"])
TABLE = boto3.resource("dynamodb").Table(os.environ["TASKS_TABLE"])

app = FastAPI()


@app.get("/api/{user_id}/tasks")
def list_tasks(user_id: str, authorization: str = Header()):
    token = authorization.removeprefix("Bearer ")
    try:
        key = JWKS[jwt.get_unverified_header(token)["kid"]]
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],
            audience=os.environ["AUTH_AUDIENCE"],
            issuer=os.environ["AUTH_ISSUER"],
        )
    except (jwt.PyJWTError, KeyError) as error:
        raise HTTPException(status_code=401) from error
    if claims["sub"] != user_id:
        raise HTTPException(status_code=403)
    items = TABLE.query(
        KeyConditionExpression=Key("user_id").eq(user_id), ScanIndexForward=False, Limit=50
    )["Items"]
    return {"count": len(items)}


handler = Mangum(app, lifespan="off")

"""GET /api/{user_id}/whoami: a route in Python behind taskgate's Lambda authorizer.

The authorizer (functions/authorizer) has verified the caller's token and checked it against
their sign-outs before API Gateway invokes this function; it hands over who is calling in
event["requestContext"]["authorizer"]["lambda"]: "sub" (the user id) and, when the token names
one, "sid" (its session). This function needs no JWT library, no key and no secret. What it must
still do is what taskgate's own routes do: serve only the caller's own data, so the path's
user must be the caller, exactly (the raw path, never decoded), or the answer is 403.

Copy it for a route of your own: read the caller from the context, compare it with the user the
request names, then do the work. Answers are JSON; errors are RFC 9457 problems in taskgate's
type scheme.
"""

import json
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)

PROBLEM_TYPE = "tag:taskgate,2026:problem:"
HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}


def handler(event, context):
    """The Lambda entry point (API Gateway HTTP API, payload format 2.0)."""
    caller = _caller(event)
    if caller is None:
        # Only a route that is not behind the authorizer gets here: fail closed.
        logger.error("no authorizer context: put this route behind TaskgateAuthorizer")
        response = _problem(401, "unauthorized", "the request was not authorized")
        response["headers"]["www-authenticate"] = "Bearer"
        return response
    path_user = _path_user(event)
    if path_user is None:
        return _problem(404, "not-found", "no route here")
    if path_user != caller["sub"]:
        logger.warning(json.dumps({"outcome": "forbidden", "sub": caller["sub"]}))
        return _problem(403, "forbidden", "the user in the path is not the user of the token")
    body = {"sub": caller["sub"], "sid": caller.get("sid")}
    return _json(200, body, "application/json")


def _caller(event):
    """The authorizer's context, {"sub": ..., "sid": ...}, or None without a usable one."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    context = authorizer.get("lambda") or {}
    sub = context.get("sub")
    if not isinstance(sub, str) or not sub:
        return None
    sid = context.get("sid")
    return {"sub": sub, "sid": sid if isinstance(sid, str) else None}


def _path_user(event):
    """The {user_id} segment of the raw path /api/{user_id}/whoami (a named stage's prefix
    allowed before it), exactly as the client sent it, or None for any other path."""
    segments = (event.get("rawPath") or "").split("/")
    if len(segments) < 4 or segments[-3] != "api" or segments[-1] != "whoami":
        return None
    return segments[-2]


def _problem(status, kind, detail):
    titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
    body = {"type": PROBLEM_TYPE + kind, "title": titles[status], "status": status, "detail": detail}
    return _json(status, body, "application/problem+json")


def _json(status, body, content_type):
    return {
        "statusCode": status,
        "headers": {"content-type": content_type, **HEADERS},
        "body": json.dumps(body),
    }

#!/usr/bin/env python3
"""Transforms a SAM template into plain CloudFormation JSON, offline, with aws-sam-translator.

cfn-lint on a SAM template checks little of what the transform produces, so `make lint` runs
this first and lints its output. No AWS call: managed policies resolve from a fixed table.

Usage: sam-translate.py template.yaml > template.cfn.json
"""

import json
import os
import sys

# The transform needs a region (for ARNs and partitions); no AWS call is made.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402


class OfflinePolicyLoader:
    """The managed policies SAM may look up by name; the template names none itself."""

    def load(self):
        return {
            "AWSLambdaBasicExecutionRole": (
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
            ),
        }


def as_packaged(sam):
    """Points local CodeUri paths at S3, as `sam package` (or `sam deploy`) does."""
    code_uris = [sam.get("Globals", {}).get("Function", {})]
    code_uris += [
        resource.get("Properties", {})
        for resource in sam.get("Resources", {}).values()
        if resource.get("Type") == "AWS::Serverless::Function"
    ]
    for properties in code_uris:
        uri = properties.get("CodeUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            properties["CodeUri"] = "s3://packaged-by-sam/function.zip"


def main(path):
    with open(path, encoding="utf-8") as template:
        sam = yaml_parse(template.read())
    as_packaged(sam)
    try:
        cloudformation = transform(sam, {}, OfflinePolicyLoader())
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"{path}: {cause.message}", file=sys.stderr)
        return 1
    json.dump(cloudformation, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))

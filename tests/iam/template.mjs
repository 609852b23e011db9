// The template's IAM resources as AWS would see them once deployed: the SAM template transformed
// to CloudFormation by aws-sam-translator (scripts/sam-translate.py, offline), then its intrinsic
// functions resolved with fixed values, for one set of parameter values.
//
// Only what the IAM resources use is supported: Ref, Fn::GetAtt, Fn::Sub, Fn::If (with
// AWS::NoValue) and, in Conditions, Fn::Equals/Not/And/Or and Condition. Anything else throws,
// so that a template change this resolver does not understand fails the tests instead of being
// skipped by them.

import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export const ACCOUNT = '123456789012'
export const REGION = 'us-east-1'
export const PARTITION = 'aws'
export const STACK = 'taskgate'

export const TABLE_NAME = `${STACK}-TasksTable-ABC`
export const TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${TABLE_NAME}`
export const TENANT_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${STACK}-tenant-data`

/** The ARN CloudFormation would give the role <logicalId> (e.g. ListTasksFunctionRole). */
export const roleArn = (logicalId) =>
  logicalId === 'TenantDataRole' ? TENANT_ROLE_ARN : `arn:aws:iam::${ACCOUNT}:role/${STACK}-${logicalId}`

/** The ARN CloudFormation would give the customer managed policy <logicalId>. */
export const managedPolicyArn = (logicalId) => `arn:aws:iam::${ACCOUNT}:policy/${STACK}-${logicalId}`

/**
 * AWS managed policies that SAM attaches by ARN; they are not in the template, so their documents
 * are copied here (as published by AWS). An ARN not listed here fails the tests.
 */
const AWS_MANAGED_POLICIES = {
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: '*',
      },
    ],
  },
  // Tracing: Active (v2).
  'arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess': {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
          'xray:GetSamplingStatisticSummaries',
        ],
        Resource: ['*'],
      },
    ],
  },
  // CodeDeploy's service role for the canary deployments (v3).
  'arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda': {
    Version: '2012-10-17',
    Statement: [
      {
        Action: [
          'cloudwatch:DescribeAlarms',
          'lambda:UpdateAlias',
          'lambda:GetAlias',
          'lambda:GetProvisionedConcurrencyConfig',
          'sns:Publish',
        ],
        Resource: '*',
        Effect: 'Allow',
      },
      { Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: 'arn:aws:s3:::*/CodeDeploy/*', Effect: 'Allow' },
      {
        Action: ['s3:GetObject', 's3:GetObjectVersion'],
        Resource: '*',
        Condition: { StringEquals: { 's3:ExistingObjectTag/UseWithCodeDeploy': 'true' } },
        Effect: 'Allow',
      },
      { Action: ['lambda:InvokeFunction'], Resource: 'arn:aws:lambda:*:*:function:CodeDeployHook_*', Effect: 'Allow' },
    ],
  },
}

let transformed
/** template.yaml transformed by aws-sam-translator (CloudFormation JSON, intrinsics unresolved). */
export function transformedTemplate() {
  if (transformed) return transformed
  const python = path.join(REPO_ROOT, '.venv/bin/python')
  if (!existsSync(python)) {
    throw new Error(`${python} is missing: run \`make test-deps\` (it creates .venv with aws-sam-translator)`)
  }
  const run = spawnSync(python, ['scripts/sam-translate.py', 'template.yaml'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  if (run.error) throw run.error
  if (run.status !== 0) {
    throw new Error(
      `scripts/sam-translate.py template.yaml failed (exit ${run.status}; run \`make test-deps\` if a module is missing):\n${run.stderr}`,
    )
  }
  transformed = JSON.parse(run.stdout)
  return transformed
}

/** The value of `!Ref AWS::NoValue`: dropped from the list or object that contains it. */
const NO_VALUE = Symbol('AWS::NoValue')

/**
 * The transformed template for the given parameter values (the others take their defaults):
 * `resources` holds only the resources whose Condition is true, and `resource(id)` returns one
 * with its Properties resolved.
 */
export function deployedTemplate(parameterValues = {}) {
  const cfn = transformedTemplate()
  const parameters = {}
  for (const [name, declaration] of Object.entries(cfn.Parameters ?? {})) {
    if (name in parameterValues) parameters[name] = String(parameterValues[name])
    else if ('Default' in declaration) parameters[name] = String(declaration.Default)
    // (a parameter without a default and without a value throws only if something refers to it)
  }
  for (const name of Object.keys(parameterValues)) {
    if (!(name in parameters)) throw new Error(`template.yaml has no parameter ${name}`)
  }

  const conditionValues = {}
  function condition(name) {
    if (!(name in conditionValues)) {
      if (!(name in (cfn.Conditions ?? {}))) throw new Error(`unknown condition ${name}`)
      conditionValues[name] = evaluateCondition(cfn.Conditions[name])
    }
    return conditionValues[name]
  }
  function evaluateCondition(expression) {
    const [fn, args] = singleKey(expression)
    switch (fn) {
      case 'Condition':
        return condition(args)
      case 'Fn::Equals':
        return JSON.stringify(resolve(args[0])) === JSON.stringify(resolve(args[1]))
      case 'Fn::Not':
        return !evaluateCondition(args[0])
      case 'Fn::And':
        return args.every(evaluateCondition)
      case 'Fn::Or':
        return args.some(evaluateCondition)
      default:
        throw new Error(`unsupported condition function: ${JSON.stringify(expression)}`)
    }
  }

  const resources = Object.fromEntries(
    Object.entries(cfn.Resources).filter(([, r]) => r.Condition === undefined || condition(r.Condition)),
  )
  function declared(logicalId) {
    if (!(logicalId in resources)) {
      const why = logicalId in cfn.Resources ? `its condition ${cfn.Resources[logicalId].Condition} is false` : 'no such resource'
      throw new Error(`reference to ${logicalId}, which does not exist (${why})`)
    }
    return resources[logicalId]
  }

  function ref(name) {
    switch (name) {
      case 'AWS::AccountId':
        return ACCOUNT
      case 'AWS::Region':
        return REGION
      case 'AWS::Partition':
        return PARTITION
      case 'AWS::StackName':
        return STACK
      case 'AWS::URLSuffix':
        return 'amazonaws.com'
      case 'AWS::NoValue':
        return NO_VALUE
    }
    if (name in (cfn.Parameters ?? {})) {
      if (!(name in parameters)) throw new Error(`parameter ${name} has no default: give it a value`)
      return parameters[name]
    }
    const type = declared(name).Type
    if (type === 'AWS::IAM::ManagedPolicy') return managedPolicyArn(name)
    if (name === 'TasksTable') return TABLE_NAME
    throw new Error(`Ref ${name} (${type}): no fixed value for it in tests/iam/template.mjs`)
  }

  function getAtt(logicalId, attribute) {
    const type = declared(logicalId).Type
    if (attribute === 'Arn' && logicalId === 'TasksTable') return TABLE_ARN
    if (attribute === 'Arn' && type === 'AWS::IAM::Role') return roleArn(logicalId)
    throw new Error(`Fn::GetAtt ${logicalId}.${attribute}: no fixed value for it in tests/iam/template.mjs`)
  }

  function sub(text, variables = {}) {
    return text.replace(/\$\{([^}]*)\}/g, (whole, name) => {
      if (name.startsWith('!')) return '${' + name.slice(1) + '}' // ${!Literal}
      if (name in variables) return variables[name]
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const [logicalId, ...attribute] = name.split('.')
        return getAtt(logicalId, attribute.join('.'))
      }
      return ref(name)
    })
  }

  function resolve(value) {
    if (Array.isArray(value)) return value.map(resolve).filter((v) => v !== NO_VALUE)
    if (value === null || typeof value !== 'object') return value
    const keys = Object.keys(value)
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      const [fn, args] = singleKey(value)
      switch (fn) {
        case 'Ref':
          return ref(args)
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = typeof args === 'string' ? args.split(/\.(.*)/) : args
          return getAtt(logicalId, attribute)
        }
        case 'Fn::Sub':
          return typeof args === 'string' ? sub(args) : sub(args[0], resolve(args[1]))
        case 'Fn::If':
          return resolve(condition(args[0]) ? args[1] : args[2])
        default:
          throw new Error(`unsupported intrinsic function ${fn}: ${JSON.stringify(value)}`)
      }
    }
    const result = {}
    for (const key of keys) {
      const resolved = resolve(value[key])
      if (resolved !== NO_VALUE) result[key] = resolved
    }
    return result
  }

  function resource(logicalId) {
    const { Type, Properties = {} } = declared(logicalId)
    return { Type, Properties: resolve(Properties) }
  }

  /**
   * The identity policies of the role <logicalId>, as iam-simulate takes them: its inline
   * policies and the documents of its managed policies (the template's, resolved, or AWS's).
   */
  function identityPolicies(logicalId) {
    for (const [id, r] of Object.entries(resources)) {
      // Policies attached from the policy's side would be missed below: refuse them.
      if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::RolePolicy' || r.Properties?.Roles) {
        throw new Error(`${id} (${r.Type}) attaches itself to roles: not supported by tests/iam/template.mjs`)
      }
    }
    const { Type, Properties } = resource(logicalId)
    if (Type !== 'AWS::IAM::Role') throw new Error(`${logicalId} is a ${Type}, not an AWS::IAM::Role`)
    const inline = (Properties.Policies ?? []).map((p) => ({ name: p.PolicyName, policy: p.PolicyDocument }))
    const managed = (Properties.ManagedPolicyArns ?? []).map((arn) => {
      if (arn in AWS_MANAGED_POLICIES) return { name: arn.split('/').pop(), policy: AWS_MANAGED_POLICIES[arn] }
      const [id] = Object.entries(resources).find(
        ([id, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && managedPolicyArn(id) === arn,
      ) ?? [undefined]
      if (!id) throw new Error(`${logicalId}: managed policy ${arn} is neither in the template nor known here`)
      return { name: id, policy: resource(id).Properties.PolicyDocument }
    })
    return [...inline, ...managed]
  }

  return { parameters, condition, resources, resource, identityPolicies }
}

function singleKey(object) {
  const keys = Object.keys(object ?? {})
  if (keys.length !== 1) throw new Error(`expected an intrinsic function, got ${JSON.stringify(object)}`)
  return [keys[0], object[keys[0]]]
}

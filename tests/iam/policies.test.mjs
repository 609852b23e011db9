// The template's IAM policies, evaluated by an IAM policy simulator nobody here wrote
// (@cloud-copilot/iam-simulate), on the template as deployed: template.yaml transformed by SAM
// (scripts/sam-translate.py) and its intrinsics resolved (./template.mjs).
//
//   node --test tests/iam/          (from the repository root; `make test-deps` installs what it needs)
//
// In iam isolation (the default) the function roles may not touch the table's items at all: each
// request assumes TenantDataRole with a session tag taskgate_user = the verified user id, and that
// role may only touch items whose partition key (dynamodb:LeadingKeys) is that id; the session
// policy of each function (./session-policies.json, which tests/tests/template.rs holds to the
// code) narrows it to what its route needs. In app isolation each function role may do exactly
// what its route needs, on the whole table. Every route may read the user's revocation item, and
// only its key, not_before and revoked_sessions; the revoke routes may update it and nothing else.
// The Lambda authorizer's role may read that revocation item and nothing else of the table, like a
// route in either mode. Every Rust function role may call DescribeTable on the table (its
// cold-start call, which opens the DynamoDB connections; it reveals the table's metadata, never an
// item). The Python whoami route's role may touch nothing of the table, the tenant role or the
// secret. Every function role may also write X-Ray
// traces (active tracing), and nothing more through that policy; CodeDeploy's role (canary
// deployments, SAM's) is trusted by CodeDeploy only and may not touch the table or the tenant role.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import {
  REPO_ROOT,
  ACCOUNT,
  STACK,
  TABLE_ARN,
  TENANT_ROLE_ARN,
  deployedTemplate,
  managedPolicyArn,
  roleArn,
} from './template.mjs'

let runSimulation
try {
  ;({ runSimulation } = await import('@cloud-copilot/iam-simulate'))
} catch (error) {
  throw new Error(
    'tests/iam needs the npm package @cloud-copilot/iam-simulate (package.json): run `make test-deps` (or `npm ci`)',
    { cause: error },
  )
}

// ---------------------------------------------------------------------------------------------
// What the routes need (shared/src/http/routes.rs), per function role.

// `actions`: on any attribute; `revocation`: what it may do with the revocation item besides.
const ROUTES = [
  { role: 'ListTasksFunctionRole', fn: 'list-tasks', route: 'GET /api/{user_id}/tasks', actions: ['dynamodb:Query'], revocation: 'read' },
  // TransactWriteItems (task, idempotency record, the user's task counter) is authorized per
  // item: PutItem, and UpdateItem for the counter; GetItem reads the first result back for a replay.
  {
    role: 'CreateTaskFunctionRole',
    fn: 'create-task',
    route: 'POST /api/{user_id}/tasks',
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'],
    revocation: 'read',
  },
  { role: 'GetTaskFunctionRole', fn: 'get-task', route: 'GET /api/{user_id}/tasks/{task_id}', actions: ['dynamodb:GetItem'], revocation: 'read' },
  { role: 'UpdateTaskFunctionRole', fn: 'update-task', route: 'PUT /api/{user_id}/tasks/{task_id}', actions: ['dynamodb:UpdateItem'], revocation: 'read' },
  // TransactWriteItems (the task, the user's task counter): DeleteItem and UpdateItem.
  {
    role: 'DeleteTaskFunctionRole',
    fn: 'delete-task',
    route: 'DELETE /api/{user_id}/tasks/{task_id}',
    actions: ['dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
    revocation: 'read',
  },
  {
    role: 'CompleteTaskFunctionRole',
    fn: 'complete-task',
    route: 'PATCH /api/{user_id}/tasks/{task_id}/complete',
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    revocation: 'read',
  },
  { role: 'RevokeSessionsFunctionRole', fn: 'revoke-sessions', route: 'DELETE /api/{user_id}/sessions', actions: [], revocation: 'write' },
  {
    role: 'RevokeSessionFunctionRole',
    fn: 'revoke-session',
    route: 'DELETE /api/{user_id}/sessions/{session_id}',
    actions: [],
    revocation: 'write',
  },
]
/** The Lambda authorizer: no item action, only the revocation check. */
const AUTHORIZER = {
  role: 'AuthorizerFunctionRole',
  fn: 'authorizer',
  route: 'the Lambda authorizer',
  actions: [],
  revocation: 'read',
}
/** Every Rust function, each priming its DynamoDB connections with DescribeTable: the routes and the authorizer. */
const FUNCTIONS = [...ROUTES, AUTHORIZER]
const FUNCTION_ROLES = FUNCTIONS.map((r) => r.role)
/** The Python example route behind the authorizer (examples/whoami). */
const WHOAMI_ROLE = 'WhoamiFunctionRole'
/** The role SAM makes for CodeDeploy, which shifts each function's live alias (canary deployments). */
const CODEDEPLOY_ROLE = 'CodeDeployServiceRole'
/** The AWS managed policies SAM attaches to every function role: logs, and X-Ray traces (Tracing: Active). */
const LAMBDA_BASIC = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'
const XRAY_WRITE = 'arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess'

/** Every item action some route needs: what the tenant role grants, one partition at a time. */
const ROUTE_ITEM_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query']
/** Every action that reads or writes items. */
const ITEM_ACTIONS = [...ROUTE_ITEM_ACTIONS, 'dynamodb:Scan', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem']
const TABLE_MANAGEMENT = ['dynamodb:DeleteTable', 'dynamodb:UpdateTable', 'dynamodb:CreateTable', 'dynamodb:DescribeTable']

/** IAM defines no dynamodb:LeadingKeys for Scan (it reads every partition); AWS never sends it. */
const hasLeadingKeys = (action) => action !== 'dynamodb:Scan'

// ---------------------------------------------------------------------------------------------
// The request context DynamoDB gives IAM for the attributes a call touches.

const TASK_ATTRIBUTES = ['user_id', 'task_id', 'title', 'description', 'completed', 'updated_at', 'version']
/**
 * A call on whole items, as the task routes make them: a read that names no attributes (DynamoDB
 * then selects ALL_ATTRIBUTES), a write that names a task's.
 */
const WHOLE_ITEM = {
  'dynamodb:GetItem': { 'dynamodb:Select': 'ALL_ATTRIBUTES' },
  'dynamodb:Query': { 'dynamodb:Select': 'ALL_ATTRIBUTES' },
  'dynamodb:Scan': { 'dynamodb:Select': 'ALL_ATTRIBUTES' },
  'dynamodb:BatchGetItem': { 'dynamodb:Select': 'ALL_ATTRIBUTES' },
  'dynamodb:PutItem': { 'dynamodb:Attributes': TASK_ATTRIBUTES },
  'dynamodb:UpdateItem': { 'dynamodb:Attributes': TASK_ATTRIBUTES, 'dynamodb:ReturnValues': 'ALL_NEW' },
  'dynamodb:DeleteItem': {},
  'dynamodb:BatchWriteItem': {},
}
/** The revocation check's GetItem: ProjectionExpression "not_before, revoked_sessions". */
const READ_REVOCATION = {
  'dynamodb:Attributes': ['not_before', 'revoked_sessions'],
  'dynamodb:Select': 'SPECIFIC_ATTRIBUTES',
}
/** The same, should IAM count the key attributes in too. */
const READ_REVOCATION_WITH_KEY = {
  'dynamodb:Attributes': ['user_id', 'task_id', 'not_before', 'revoked_sessions'],
  'dynamodb:Select': 'SPECIFIC_ATTRIBUTES',
}
/** A revoke's GetItem, with the version its write is conditioned on. */
const READ_REVOCATION_VERSION = {
  'dynamodb:Attributes': ['not_before', 'revoked_sessions', 'revocation_version'],
  'dynamodb:Select': 'SPECIFIC_ATTRIBUTES',
}
/** A revoke's UpdateItem (SET not_before, revoked_sessions, revocation_version; ReturnValues NONE). */
const WRITE_REVOCATION = {
  'dynamodb:Attributes': ['not_before', 'revoked_sessions', 'revocation_version'],
  'dynamodb:ReturnValues': 'NONE',
}
/** A GetItem that projects a task's attributes. */
const READ_TASK_ATTRIBUTES = { 'dynamodb:Attributes': ['title', 'description'], 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' }

// ---------------------------------------------------------------------------------------------
// Principals: Lambda runs each function as a session of its role; the functions' sessions of the
// tenant role carry the user's tag.

const functionSession = (role) =>
  `arn:aws:sts::${ACCOUNT}:assumed-role/${STACK}-${role}/${STACK}-${role.replace(/Role$/, '')}`
const TENANT_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/${STACK}-tenant-data/userA-request-1`
const USER_A_TAG = { 'aws:PrincipalTag/taskgate_user': 'userA' }

const OTHER_TABLE_ARN = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/other-table`
/** The status index (filtered lists Query it); any other index of the table stays out of reach. */
const STATUS_INDEX_ARN = `${TABLE_ARN}/index/by_status`
const INDEX_ARN = `${TABLE_ARN}/index/x`

// ---------------------------------------------------------------------------------------------
// One request through iam-simulate: the decision ('Allowed', 'ImplicitlyDenied' or
// 'ExplicitlyDenied'). Fails on invalid input, and when the simulator drops a context key the test
// gave (keys the action does not have), unless the test says it expects that.

async function decide({ principal, action, resource = TABLE_ARN, context = {}, identityPolicies, sessionPolicy, resourcePolicy, ignored = [] }) {
  const response = await runSimulation(
    {
      request: { principal, action, resource: { resource, accountId: ACCOUNT }, contextVariables: context },
      identityPolicies,
      sessionPolicy,
      resourcePolicy,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    { simulationMode: 'Strict' },
  )
  if (response.resultType === 'error') {
    assert.fail(`iam-simulate rejected ${action} on ${resource}: ${JSON.stringify(response.errors, null, 2)}`)
  }
  assert.equal(response.resultType, 'single')
  assert.deepEqual(response.result.ignoredContextKeys ?? [], ignored, `context keys iam-simulate ignored for ${action}`)
  return response.overallResult
}

async function assertAllowed(request) {
  const decision = await decide(request)
  assert.equal(decision, 'Allowed', `${request.action} on ${request.resource ?? TABLE_ARN} by ${request.principal}`)
}

async function assertDenied(request) {
  const decision = await decide(request)
  assert.match(decision, /^(Implicitly|Explicitly)Denied$/, `${request.action} on ${request.resource ?? TABLE_ARN} by ${request.principal}`)
}

const leadingKeys = (...users) => ({ 'dynamodb:LeadingKeys': users })

// ---------------------------------------------------------------------------------------------

const iam = deployedTemplate({ DataIsolation: 'iam' })
const app = deployedTemplate({ DataIsolation: 'app' })

const rolesOf = (template) =>
  Object.keys(template.resources)
    .filter((id) => template.resources[id].Type === 'AWS::IAM::Role')
    .sort()

describe('the deployed template (SAM-transformed, intrinsics resolved)', () => {
  test('iam isolation: the nine Rust function roles, the whoami role, CodeDeploy\'s role and TenantDataRole, nothing else', () => {
    assert.deepEqual(rolesOf(iam), [...FUNCTION_ROLES, WHOAMI_ROLE, CODEDEPLOY_ROLE, 'TenantDataRole'].sort())
    assert.ok('AssumeTenantRolePolicy' in iam.resources)
  })

  test('app isolation: the function roles and CodeDeploy\'s only; no TenantDataRole, no AssumeTenantRolePolicy', () => {
    assert.deepEqual(rolesOf(app), [...FUNCTION_ROLES, WHOAMI_ROLE, CODEDEPLOY_ROLE].sort())
    assert.ok(!('TenantDataRole' in app.resources))
    assert.ok(!('AssumeTenantRolePolicy' in app.resources))
  })

  test('the role the functions may assume is TenantDataRole (its RoleName matches the ARN in AssumeTenantRolePolicy)', () => {
    const { RoleName } = iam.resource('TenantDataRole').Properties
    assert.equal(`arn:aws:iam::${ACCOUNT}:role/${RoleName}`, TENANT_ROLE_ARN)
    const [statement] = iam.resource('AssumeTenantRolePolicy').Properties.PolicyDocument.Statement
    assert.equal(statement.Resource, TENANT_ROLE_ARN)
  })

  test('without AuthHs256SecretArn there is no ReadAuthSecretPolicy', () => {
    assert.ok(!('ReadAuthSecretPolicy' in iam.resources))
    assert.ok(!('ReadAuthSecretPolicy' in app.resources))
  })
})

describe('iam isolation: a TenantDataRole session tagged taskgate_user=userA', () => {
  const tenant = (action, context, resource = TABLE_ARN, ignored = []) => ({
    principal: TENANT_SESSION,
    action,
    resource,
    context: { ...USER_A_TAG, ...context },
    identityPolicies: iam.identityPolicies('TenantDataRole'),
    ignored,
  })

  for (const action of ROUTE_ITEM_ACTIONS) {
    describe(action, () => {
      test('allowed on userA\'s partition (LeadingKeys ["userA"])', () => assertAllowed(tenant(action, leadingKeys('userA'))))
      test('denied on userB\'s partition (["userB"])', () => assertDenied(tenant(action, leadingKeys('userB'))))
      test('denied on both partitions at once (["userA", "userB"])', () =>
        assertDenied(tenant(action, leadingKeys('userA', 'userB'))))
      test('denied without any LeadingKeys', () => assertDenied(tenant(action, {})))
      test('denied on another table, even for userA\'s partition', () =>
        assertDenied(tenant(action, leadingKeys('userA'), OTHER_TABLE_ARN)))
    })
  }

  describe('the status index', () => {
    test('Query allowed on userA\'s partition', () =>
      assertAllowed(tenant('dynamodb:Query', leadingKeys('userA'), STATUS_INDEX_ARN)))
    test('Query denied on userB\'s partition, on both, and without LeadingKeys', async () => {
      await assertDenied(tenant('dynamodb:Query', leadingKeys('userB'), STATUS_INDEX_ARN))
      await assertDenied(tenant('dynamodb:Query', leadingKeys('userA', 'userB'), STATUS_INDEX_ARN))
      await assertDenied(tenant('dynamodb:Query', {}, STATUS_INDEX_ARN))
    })
    for (const action of ROUTE_ITEM_ACTIONS.filter((a) => a !== 'dynamodb:Query')) {
      test(`${action} denied, even for userA's partition`, () =>
        assertDenied(tenant(action, leadingKeys('userA'), STATUS_INDEX_ARN)))
    }
  })

  test('Query on any other index of the table denied, even for userA\'s partition', () =>
    assertDenied(tenant('dynamodb:Query', leadingKeys('userA'), INDEX_ARN)))

  test('Scan denied (it has no LeadingKeys: iam-simulate drops the key, as AWS never sends it)', async () => {
    await assertDenied(tenant('dynamodb:Scan', {}))
    await assertDenied(tenant('dynamodb:Scan', leadingKeys('userA'), TABLE_ARN, ['dynamodb:LeadingKeys']))
    await assertDenied(tenant('dynamodb:Scan', {}, INDEX_ARN))
    await assertDenied(tenant('dynamodb:Scan', {}, STATUS_INDEX_ARN))
  })

  test('BatchGetItem and BatchWriteItem denied, even for userA\'s partition (no route uses them)', async () => {
    await assertDenied(tenant('dynamodb:BatchGetItem', leadingKeys('userA')))
    await assertDenied(tenant('dynamodb:BatchWriteItem', leadingKeys('userA')))
  })

  for (const action of TABLE_MANAGEMENT) {
    test(`${action} denied`, () => assertDenied(tenant(action, {})))
  }
})

describe('iam isolation: the function roles (identity policies, SAM-generated)', () => {
  for (const { role } of FUNCTIONS) {
    describe(role, () => {
      const fn = (action, { resource = TABLE_ARN, context = {}, ignored = [] } = {}) => ({
        principal: functionSession(role),
        action,
        resource,
        context,
        identityPolicies: iam.identityPolicies(role),
        ignored,
      })

      test('attached policies: AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess, AssumeTenantRolePolicy, and its inline policy for DescribeTable only', () => {
        const { ManagedPolicyArns, Policies = [] } = iam.resource(role).Properties
        assert.deepEqual(ManagedPolicyArns, [LAMBDA_BASIC, XRAY_WRITE, managedPolicyArn('AssumeTenantRolePolicy')])
        assert.equal(Policies.length, 1)
      })

      for (const action of ITEM_ACTIONS) {
        test(`${action} on the table denied, whatever the LeadingKeys`, async () => {
          const ignored = hasLeadingKeys(action) ? [] : ['dynamodb:LeadingKeys']
          await assertDenied(fn(action))
          await assertDenied(fn(action, { context: leadingKeys('userA'), ignored }))
          await assertDenied(fn(action, { context: leadingKeys('userB'), ignored }))
        })
      }

      test('DescribeTable on the table allowed (the cold-start call)', () => assertAllowed(fn('dynamodb:DescribeTable')))
      test('DescribeTable on another table denied', () =>
        assertDenied(fn('dynamodb:DescribeTable', { resource: OTHER_TABLE_ARN })))

      const tagged = { 'aws:RequestTag/taskgate_user': 'userA', 'aws:TagKeys': ['taskgate_user'] }
      test('sts:AssumeRole and sts:TagSession on TenantDataRole allowed (identity side)', async () => {
        await assertAllowed(fn('sts:AssumeRole', { resource: TENANT_ROLE_ARN, context: tagged }))
        await assertAllowed(fn('sts:TagSession', { resource: TENANT_ROLE_ARN, context: tagged }))
      })
      test('sts:AssumeRole on any other role denied', () =>
        assertDenied(fn('sts:AssumeRole', { resource: roleArn('SomeOtherRole'), context: tagged })))
    })
  }
})

describe("iam isolation: TenantDataRole's trust policy (AssumeRole and TagSession, trust policy + caller's identity policies)", () => {
  const trustPolicy = iam.resource('TenantDataRole').Properties.AssumeRolePolicyDocument
  const assume = (principal, identityPolicies, action, context) => ({
    principal,
    action,
    resource: TENANT_ROLE_ARN,
    context,
    identityPolicies,
    resourcePolicy: trustPolicy,
  })
  const userTag = { 'aws:RequestTag/taskgate_user': 'userA', 'aws:TagKeys': ['taskgate_user'] }

  for (const { role } of FUNCTIONS) {
    describe(role, () => {
      const caller = (action, context) => assume(functionSession(role), iam.identityPolicies(role), action, context)

      test('AssumeRole and TagSession with the tag taskgate_user=userA allowed', async () => {
        await assertAllowed(caller('sts:AssumeRole', userTag))
        await assertAllowed(caller('sts:TagSession', userTag))
      })
      test('AssumeRole without the tag denied', () => assertDenied(caller('sts:AssumeRole', {})))
      test('AssumeRole with an empty taskgate_user denied', () =>
        assertDenied(caller('sts:AssumeRole', { 'aws:RequestTag/taskgate_user': '', 'aws:TagKeys': ['taskgate_user'] })))
      test('TagSession with an extra tag key denied', () =>
        assertDenied(
          caller('sts:TagSession', {
            'aws:RequestTag/taskgate_user': 'userA',
            'aws:RequestTag/admin': 'true',
            'aws:TagKeys': ['taskgate_user', 'admin'],
          }),
        ))
      test('TagSession with another tag key instead of taskgate_user denied', () =>
        assertDenied(caller('sts:TagSession', { 'aws:RequestTag/admin': 'true', 'aws:TagKeys': ['admin'] })))
    })
  }

  // Principals the trust policy does not name, each with an identity policy that allows
  // everything: only the trust policy stands in their way.
  const allowEverything = [
    { name: 'AllowEverything', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } },
  ]
  const outsiders = [
    ['an administrator of the account', `arn:aws:iam::${ACCOUNT}:user/admin`],
    ['another role of the account', `arn:aws:sts::${ACCOUNT}:assumed-role/${STACK}-OtherFunctionRole/x`],
    ['a TenantDataRole session (no role chaining into itself)', TENANT_SESSION],
    ['the whoami function role (the Python route behind the authorizer)', functionSession(WHOAMI_ROLE)],
    ['a same-named function role in another account', `arn:aws:sts::999999999999:assumed-role/${STACK}-ListTasksFunctionRole/x`],
  ]
  for (const [who, principal] of outsiders) {
    test(`${who}: AssumeRole and TagSession denied, even tagged`, async () => {
      await assertDenied(assume(principal, allowEverything, 'sts:AssumeRole', userTag))
      await assertDenied(assume(principal, allowEverything, 'sts:TagSession', userTag))
    })
  }
})

describe('app isolation: each function role may do exactly what its route needs', () => {
  for (const { role, route, actions } of FUNCTIONS) {
    describe(`${role} (${route})`, () => {
      const fn = (action, { resource = TABLE_ARN, context = {}, ignored = [] } = {}) => ({
        principal: functionSession(role),
        action,
        resource,
        context,
        identityPolicies: app.identityPolicies(role),
        ignored,
      })

      test('attached policies: its inline policy, AWSLambdaBasicExecutionRole and AWSXrayWriteOnlyAccess only', () => {
        const { ManagedPolicyArns } = app.resource(role).Properties
        assert.deepEqual(ManagedPolicyArns, [LAMBDA_BASIC, XRAY_WRITE])
      })

      for (const action of ITEM_ACTIONS) {
        const allowed = actions.includes(action)
        test(`${action} on whole items ${allowed ? 'allowed (any partition: the code isolates users)' : 'denied'}`, async () => {
          const ignored = hasLeadingKeys(action) ? [] : ['dynamodb:LeadingKeys']
          const check = allowed ? assertAllowed : assertDenied
          await check(fn(action, { context: { ...leadingKeys('userA'), ...WHOLE_ITEM[action] }, ignored }))
          await check(fn(action, { context: { ...leadingKeys('userB'), ...WHOLE_ITEM[action] }, ignored }))
        })
      }

      for (const action of actions) {
        test(`${action} on another table denied`, () =>
          assertDenied(fn(action, { resource: OTHER_TABLE_ARN, context: leadingKeys('userA') })))
      }

      const queries = actions.includes('dynamodb:Query')
      test(`Query on the status index ${queries ? 'allowed' : 'denied'}; on any other index denied`, async () => {
        await (queries ? assertAllowed : assertDenied)(fn('dynamodb:Query', { resource: STATUS_INDEX_ARN, context: leadingKeys('userA') }))
        await assertDenied(fn('dynamodb:Query', { resource: INDEX_ARN, context: leadingKeys('userA') }))
      })

      test('DescribeTable on the table allowed (the cold-start call)', () => assertAllowed(fn('dynamodb:DescribeTable')))
      for (const action of TABLE_MANAGEMENT.filter((a) => a !== 'dynamodb:DescribeTable')) {
        test(`${action} denied`, () => assertDenied(fn(action)))
      }
      test('sts:AssumeRole on the (absent) tenant role denied', () =>
        assertDenied(fn('sts:AssumeRole', { resource: TENANT_ROLE_ARN, context: { 'aws:RequestTag/taskgate_user': 'userA', 'aws:TagKeys': ['taskgate_user'] } })))
    })
  }
})

/**
 * What a principal may do with the revocation item and with tasks: `principal(action, context)`
 * builds its request; `partition` is the one it may reach (the other must be denied where IAM
 * checks partitions).
 */
function revocationItemTests({ principal, revocation, actions, otherPartition }) {
  const anyGetItem = actions.includes('dynamodb:GetItem')
  const anyUpdateItem = actions.includes('dynamodb:UpdateItem')
  const writes = revocation === 'write'

  test('GetItem of not_before and revoked_sessions (the check) allowed', async () => {
    await assertAllowed(principal('dynamodb:GetItem', { ...leadingKeys('userA'), ...READ_REVOCATION }))
    await assertAllowed(principal('dynamodb:GetItem', { ...leadingKeys('userA'), ...READ_REVOCATION_WITH_KEY }))
  })
  if (otherPartition) {
    test("that GetItem on another user's partition denied", () =>
      assertDenied(principal('dynamodb:GetItem', { ...leadingKeys('userB'), ...READ_REVOCATION })))
  }
  test(`GetItem without a projection (the whole item) ${anyGetItem ? 'allowed (the route reads tasks)' : 'denied'}`, () =>
    (anyGetItem ? assertAllowed : assertDenied)(principal('dynamodb:GetItem', { ...leadingKeys('userA'), ...WHOLE_ITEM['dynamodb:GetItem'] })))
  test(`GetItem projecting a task's title ${anyGetItem ? 'allowed (the route reads tasks)' : 'denied'}`, () =>
    (anyGetItem ? assertAllowed : assertDenied)(principal('dynamodb:GetItem', { ...leadingKeys('userA'), ...READ_TASK_ATTRIBUTES })))
  test(`GetItem with the revocation version ${writes || anyGetItem ? 'allowed' : 'denied (only the revoke routes read it)'}`, () =>
    (writes || anyGetItem ? assertAllowed : assertDenied)(
      principal('dynamodb:GetItem', { ...leadingKeys('userA'), ...READ_REVOCATION_VERSION }),
    ))
  test(`UpdateItem of the revocation attributes ${writes || anyUpdateItem ? 'allowed' : 'denied'}`, () =>
    (writes || anyUpdateItem ? assertAllowed : assertDenied)(
      principal('dynamodb:UpdateItem', { ...leadingKeys('userA'), ...WRITE_REVOCATION }),
    ))
  if (writes) {
    if (otherPartition) {
      test("that UpdateItem on another user's partition denied", () =>
        assertDenied(principal('dynamodb:UpdateItem', { ...leadingKeys('userB'), ...WRITE_REVOCATION })))
    }
    test('UpdateItem of any task attribute denied', async () => {
      await assertDenied(principal('dynamodb:UpdateItem', { ...leadingKeys('userA'), 'dynamodb:Attributes': ['title'], 'dynamodb:ReturnValues': 'NONE' }))
      await assertDenied(
        principal('dynamodb:UpdateItem', { ...leadingKeys('userA'), ...WRITE_REVOCATION, 'dynamodb:Attributes': ['not_before', 'completed'] }),
      )
    })
    test('UpdateItem returning the whole item (ALL_OLD, ALL_NEW) denied', async () => {
      for (const returned of ['ALL_OLD', 'ALL_NEW']) {
        await assertDenied(principal('dynamodb:UpdateItem', { ...leadingKeys('userA'), ...WRITE_REVOCATION, 'dynamodb:ReturnValues': returned }))
      }
    })
    test('PutItem, DeleteItem and Query denied: no task can be written, deleted or listed', async () => {
      await assertDenied(principal('dynamodb:PutItem', { ...leadingKeys('userA'), 'dynamodb:Attributes': ['user_id', 'task_id', 'not_before'] }))
      await assertDenied(principal('dynamodb:DeleteItem', { ...leadingKeys('userA'), 'dynamodb:ReturnValues': 'NONE' }))
      await assertDenied(principal('dynamodb:Query', { ...leadingKeys('userA'), ...READ_REVOCATION }))
    })
  }
}

describe('app isolation: the revocation item, per function role', () => {
  for (const { role, actions, revocation } of FUNCTIONS) {
    describe(role, () => {
      const principal = (action, context) => ({
        principal: functionSession(role),
        action,
        context,
        identityPolicies: app.identityPolicies(role),
      })
      revocationItemTests({ principal, revocation, actions, otherPartition: false })
    })
  }
})

const SESSION_POLICIES = JSON.parse(readFileSync(path.join(REPO_ROOT, 'tests/iam/session-policies.json'), 'utf8'))

describe("iam isolation: each function's tenant session (TenantDataRole's policy and the function's session policy)", () => {
  test('a session policy for every function, and no other', () => {
    assert.deepEqual(Object.keys(SESSION_POLICIES).sort(), FUNCTIONS.map((r) => r.fn).sort())
  })
  for (const { fn, actions, revocation } of FUNCTIONS) {
    describe(fn, () => {
      const principal = (action, context, resource = TABLE_ARN, ignored = []) => ({
        principal: TENANT_SESSION,
        action,
        resource,
        context: { ...USER_A_TAG, ...context },
        identityPolicies: iam.identityPolicies('TenantDataRole'),
        sessionPolicy: SESSION_POLICIES[fn],
        ignored,
      })
      revocationItemTests({ principal, revocation, actions, otherPartition: true })

      for (const action of ROUTE_ITEM_ACTIONS) {
        const allowed = actions.includes(action)
        test(`${action} on whole items of userA's partition ${allowed ? 'allowed' : 'denied'}; on userB's denied`, async () => {
          await (allowed ? assertAllowed : assertDenied)(principal(action, { ...leadingKeys('userA'), ...WHOLE_ITEM[action] }))
          await assertDenied(principal(action, { ...leadingKeys('userB'), ...WHOLE_ITEM[action] }))
        })
      }
    })
  }
})

describe('HS256 secret (AuthHs256SecretArn set): every function role may read that secret only', () => {
  const SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:taskgate-hs256-AbCdEf`
  const OTHER_SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:other-XyZ123`
  const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`
  // The default key policy: the key trusts the account's IAM policies.
  const defaultKeyPolicy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
  }
  const VIA_SECRETS_MANAGER = { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' }

  const scenarios = [
    ['iam isolation, AWS managed key', deployedTemplate({ DataIsolation: 'iam', AuthHs256SecretArn: SECRET }), false],
    ['app isolation, AWS managed key', deployedTemplate({ DataIsolation: 'app', AuthHs256SecretArn: SECRET }), false],
    [
      'iam isolation, customer managed key',
      deployedTemplate({ DataIsolation: 'iam', AuthHs256SecretArn: SECRET, AuthHs256SecretKmsKeyArn: KEY }),
      true,
    ],
  ]
  for (const [name, template, withKey] of scenarios) {
    describe(name, () => {
      for (const role of FUNCTION_ROLES) {
        const fn = (action, resource, context = {}, resourcePolicy) => ({
          principal: functionSession(role),
          action,
          resource,
          context,
          identityPolicies: template.identityPolicies(role),
          resourcePolicy,
        })
        test(`${role}: GetSecretValue on the secret allowed; on another secret, and PutSecretValue, denied`, async () => {
          assert.ok(template.resource(role).Properties.ManagedPolicyArns.includes(managedPolicyArn('ReadAuthSecretPolicy')))
          await assertAllowed(fn('secretsmanager:GetSecretValue', SECRET))
          await assertDenied(fn('secretsmanager:GetSecretValue', OTHER_SECRET))
          await assertDenied(fn('secretsmanager:PutSecretValue', SECRET))
        })
        test(`${role}: kms:Decrypt ${withKey ? 'on the key only through Secrets Manager' : 'denied (no customer managed key)'}`, async () => {
          if (withKey) {
            await assertAllowed(fn('kms:Decrypt', KEY, VIA_SECRETS_MANAGER, defaultKeyPolicy))
            await assertDenied(fn('kms:Decrypt', KEY, {}, defaultKeyPolicy))
            await assertDenied(fn('kms:Decrypt', KEY, { 'kms:ViaService': 's3.us-east-1.amazonaws.com' }, defaultKeyPolicy))
          } else {
            await assertDenied(fn('kms:Decrypt', KEY, VIA_SECRETS_MANAGER, defaultKeyPolicy))
          }
        })
      }
    })
  }
})

describe('the whoami function role (the Python route behind the authorizer): nothing of the table, the tenant role or the secret', () => {
  const SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:taskgate-hs256-AbCdEf`
  const scenarios = [
    ['iam isolation', iam],
    ['app isolation', app],
    ['iam isolation, HS256 secret', deployedTemplate({ DataIsolation: 'iam', AuthHs256SecretArn: SECRET })],
  ]
  for (const [name, template] of scenarios) {
    describe(name, () => {
      const fn = (action, { resource = TABLE_ARN, context = {}, ignored = [] } = {}) => ({
        principal: functionSession(WHOAMI_ROLE),
        action,
        resource,
        context,
        identityPolicies: template.identityPolicies(WHOAMI_ROLE),
        ignored,
      })
      test('attached policies: AWSLambdaBasicExecutionRole and AWSXrayWriteOnlyAccess only, no inline policy', () => {
        const { ManagedPolicyArns, Policies = [] } = template.resource(WHOAMI_ROLE).Properties
        assert.deepEqual(ManagedPolicyArns, [LAMBDA_BASIC, XRAY_WRITE])
        assert.deepEqual(Policies, [])
      })
      test('every item action and DescribeTable denied', async () => {
        for (const action of ITEM_ACTIONS) {
          const ignored = hasLeadingKeys(action) ? [] : ['dynamodb:LeadingKeys']
          await assertDenied(fn(action, { context: { ...leadingKeys('userA'), ...WHOLE_ITEM[action] }, ignored }))
        }
        await assertDenied(fn('dynamodb:GetItem', { context: { ...leadingKeys('userA'), ...READ_REVOCATION } }))
        await assertDenied(fn('dynamodb:DescribeTable'))
      })
      test('sts:AssumeRole on TenantDataRole and the secret denied', async () => {
        const tagged = { 'aws:RequestTag/taskgate_user': 'userA', 'aws:TagKeys': ['taskgate_user'] }
        await assertDenied(fn('sts:AssumeRole', { resource: TENANT_ROLE_ARN, context: tagged }))
        await assertDenied(fn('secretsmanager:GetSecretValue', { resource: SECRET }))
      })
    })
  }
})

describe('active tracing and canary deployments: what SAM adds to the roles', () => {
  const session = (role, action, resource, context = {}) => ({
    principal: functionSession(role),
    action,
    resource,
    context,
    identityPolicies: iam.identityPolicies(role),
    ignored: [],
  })
  const tagged = { 'aws:RequestTag/taskgate_user': 'userA', 'aws:TagKeys': ['taskgate_user'] }

  for (const role of [...FUNCTION_ROLES, WHOAMI_ROLE]) {
    test(`${role}: may write X-Ray traces`, async () => {
      await assertAllowed(session(role, 'xray:PutTraceSegments', '*'))
      await assertAllowed(session(role, 'xray:GetSamplingRules', '*'))
    })
  }

  test("CodeDeploy's role: trusted by CodeDeploy alone, with AWSCodeDeployRoleForLambda only", () => {
    const { AssumeRolePolicyDocument, ManagedPolicyArns, Policies = [] } = iam.resource(CODEDEPLOY_ROLE).Properties
    assert.deepEqual(AssumeRolePolicyDocument.Statement, [
      { Action: ['sts:AssumeRole'], Effect: 'Allow', Principal: { Service: ['codedeploy.amazonaws.com'] } },
    ])
    assert.deepEqual(ManagedPolicyArns, ['arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda'])
    assert.deepEqual(Policies, [])
  })

  test("CodeDeploy's role: may move an alias and read the alarms, and may not touch the table or the tenant role", async () => {
    const alias = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${STACK}-ListTasksFunction-ABC:live`
    await assertAllowed(session(CODEDEPLOY_ROLE, 'lambda:UpdateAlias', alias))
    await assertAllowed(session(CODEDEPLOY_ROLE, 'cloudwatch:DescribeAlarms', `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${STACK}-ListTasksErrorsAlarm`))
    for (const action of ITEM_ACTIONS) {
      const ignored = hasLeadingKeys(action) ? [] : ['dynamodb:LeadingKeys']
      await assertDenied({ ...session(CODEDEPLOY_ROLE, action, TABLE_ARN, leadingKeys('userA')), ignored })
    }
    await assertDenied(session(CODEDEPLOY_ROLE, 'sts:AssumeRole', TENANT_ROLE_ARN, tagged))
    await assertDenied(session(CODEDEPLOY_ROLE, 'lambda:UpdateFunctionCode', alias))
  })
})

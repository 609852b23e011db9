// Canary deployments as SAM transforms them (scripts/sam-translate.py, offline): every function
// publishes a version behind its `live` alias, the HTTP API's routes and its Lambda authorizer
// invoke that alias (not $LATEST), the permissions API Gateway gets are on the alias, and each
// function has a CodeDeploy deployment group that rolls back on its alarms.
//
//   node --test tests/iam/          (from the repository root; `make test-deps` installs what it needs)

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { transformedTemplate } from './template.mjs'

const cfn = transformedTemplate()
const resources = cfn.Resources
const ofType = (type) => Object.keys(resources).filter((id) => resources[id].Type === type).sort()
const functions = ofType('AWS::Lambda::Function')
const aliasOf = (fn) => `${fn}Aliaslive`

/** The `Ref` a `Fn::Sub` integration URI names as the function it invokes. */
function invoked(uri) {
  const [text, variables = {}] = typeof uri['Fn::Sub'] === 'string' ? [uri['Fn::Sub']] : uri['Fn::Sub']
  const name = /functions\/\$\{([^}]+)\}\/invocations/.exec(text)?.[1]
  assert.ok(name, `an invocation URI: ${JSON.stringify(uri)}`)
  return variables[name]?.Ref ?? name
}

describe('canary deployments (the SAM-transformed template)', () => {
  test('ten functions: the eight routes, the authorizer, whoami', () => assert.equal(functions.length, 10))

  for (const fn of functions) {
    describe(fn, () => {
      test('its live alias points at the version each deployment publishes, and traces are on', () => {
        const alias = resources[aliasOf(fn)]
        assert.equal(alias.Type, 'AWS::Lambda::Alias')
        assert.equal(alias.Properties.Name, 'live')
        assert.deepEqual(alias.Properties.FunctionName, { Ref: fn })
        const version = alias.Properties.FunctionVersion['Fn::GetAtt']
        assert.equal(resources[version[0]].Type, 'AWS::Lambda::Version')
        assert.deepEqual(resources[fn].Properties.TracingConfig, { Mode: 'Active' })
      })

      test('CodeDeploy shifts it by canary and rolls back on its errors and the API\'s 5xx rate', () => {
        const update = resources[aliasOf(fn)].UpdatePolicy.CodeDeployLambdaAliasUpdate
        assert.deepEqual(update.DeploymentGroupName, { Ref: `${fn}DeploymentGroup` })
        const group = resources[`${fn}DeploymentGroup`].Properties
        assert.deepEqual(group.DeploymentConfigName, {
          'Fn::Sub': ['CodeDeployDefault.Lambda${ConfigName}', { ConfigName: 'Canary10Percent5Minutes' }],
        })
        assert.equal(group.AutoRollbackConfiguration.Enabled, true)
        assert.ok(group.AutoRollbackConfiguration.Events.includes('DEPLOYMENT_STOP_ON_ALARM'))
        const alarms = group.AlarmConfiguration.Alarms.map((alarm) => alarm.Name.Ref)
        assert.deepEqual(alarms, ['ApiServerErrorsAlarm', `${fn.replace(/Function$/, '')}ErrorsAlarm`])
        assert.deepEqual(group.ServiceRoleArn, { 'Fn::GetAtt': ['CodeDeployServiceRole', 'Arn'] })
      })
    })
  }

  test('every route of the HTTP API invokes a function\'s live alias', () => {
    const paths = resources.HttpApi.Properties.Body.paths
    let routes = 0
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const target = invoked(operation['x-amazon-apigateway-integration'].uri)
        assert.ok(target.endsWith('Aliaslive'), `${method} ${path} invokes ${target}`)
        routes += 1
      }
    }
    assert.equal(routes, 9, 'the eight routes and whoami')
  })

  test('the Lambda authorizer is invoked through its live alias', () => {
    const schemes = resources.HttpApi.Properties.Body.components.securitySchemes
    const authorizer = schemes.TaskgateAuthorizer['x-amazon-apigateway-authorizer']
    assert.equal(invoked(authorizer.authorizerUri), aliasOf('AuthorizerFunction'))
  })

  test('API Gateway may invoke the aliases only (routes and authorizer)', () => {
    const permissions = ofType('AWS::Lambda::Permission')
    assert.equal(permissions.length, 10)
    for (const id of permissions) {
      const { FunctionName, Principal } = resources[id].Properties
      assert.equal(Principal, 'apigateway.amazonaws.com', id)
      assert.ok(FunctionName.Ref?.endsWith('Aliaslive'), `${id}: ${JSON.stringify(FunctionName)}`)
    }
  })
})

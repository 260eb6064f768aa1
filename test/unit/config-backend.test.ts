import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('backend configuration', () => {
  it('defaults to the embedded backend, the seed names and per-process rate limits', () => {
    const config = loadConfig({});
    expect(config.backend).toBe('local');
    expect(config.redisUrl).toBeUndefined();
    expect(config.aws).toMatchObject({
      region: 'us-west-2',
      kvTable: 'agent-mesh-kv',
      artifactsBucket: 'agent-mesh-artifacts',
      eventBus: 'agent-mesh-events',
      account: '000000000000',
      s3ForcePathStyle: false,
    });
  });

  it('selects AWS and its names from the environment; an S3 endpoint turns on path-style URLs', () => {
    const config = loadConfig({
      AGENT_MESH_BACKEND: 'AWS',
      AWS_REGION: 'eu-central-1',
      AGENT_MESH_KV_TABLE: 'mesh',
      AGENT_MESH_ARTIFACTS_BUCKET: 'my-mesh-bucket',
      AGENT_MESH_EVENT_BUS: 'bus',
      AWS_ACCOUNT_ID: '123456789012',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000',
      AGENT_MESH_REDIS_URL: 'redis://127.0.0.1:6379/2',
      AGENT_MESH_SFN_ROLE_ARN: 'arn:aws:iam::123456789012:role/agent-mesh-states',
    });
    expect(config.aws.stepFunctionsRoleArn).toBe('arn:aws:iam::123456789012:role/agent-mesh-states');
    expect(config.aws.activityName).toBe('agent-mesh-tasks');
    expect(config.backend).toBe('aws');
    expect(config.aws).toMatchObject({ region: 'eu-central-1', kvTable: 'mesh', artifactsBucket: 'my-mesh-bucket', eventBus: 'bus', account: '123456789012', s3ForcePathStyle: true });
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379/2');
    expect(loadConfig({ AWS_ENDPOINT_URL_S3: 'http://x', AGENT_MESH_S3_FORCE_PATH_STYLE: 'false' }).aws.s3ForcePathStyle).toBe(false);
  });

  it.each([
    [{ AGENT_MESH_BACKEND: 'gcp' }, /AGENT_MESH_BACKEND: "gcp" is not one of local, aws/],
    [{ AGENT_MESH_REDIS_URL: 'http://cache:6379' }, /AGENT_MESH_REDIS_URL: expected redis:\/\//],
    [{ AGENT_MESH_ARTIFACTS_BUCKET: 'Bad_Bucket' }, /AGENT_MESH_ARTIFACTS_BUCKET: "Bad_Bucket" is not a valid S3 bucket name/],
    [{ AGENT_MESH_KV_TABLE: 'a' }, /AGENT_MESH_KV_TABLE/],
    [{ AWS_ACCOUNT_ID: '12345' }, /AWS_ACCOUNT_ID: "12345" is not a 12-digit account id/],
    [{ AGENT_MESH_S3_FORCE_PATH_STYLE: 'maybe' }, /AGENT_MESH_S3_FORCE_PATH_STYLE: expected true or false/],
    [{ AGENT_MESH_EVENTBRIDGE_TARGET_ARN: 'queue' }, /AGENT_MESH_EVENTBRIDGE_TARGET_ARN: expected an ARN/],
    [{ AGENT_MESH_SFN_ROLE_ARN: 'arn:aws:iam::1:user/x' }, /AGENT_MESH_SFN_ROLE_ARN: .* is not an IAM role ARN/],
    [{ AGENT_MESH_SFN_ACTIVITY: 'has space' }, /AGENT_MESH_SFN_ACTIVITY/],
  ])('refuses %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

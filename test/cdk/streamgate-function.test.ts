import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { StreamgateFunction } from '../../lib/constructs/streamgate-function.ts';
import { catalog, logRetention, testStack, variablesOf } from './construct-fixtures.ts';

describe('StreamgateFunction', () => {
  it('runs Node.js 22 on arm64 with its own log group and a role that may write only there', () => {
    const stack = testStack();
    new StreamgateFunction(stack, 'Connect', { handlerDir: 'connect', catalog, logRetention });
    const template = Template.fromStack(stack);
    const logGroup = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 29,
      LoggingConfig: { LogGroup: { Ref: logGroup } },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: Match.absent(),
      Policies: [
        {
          PolicyName: 'logs',
          PolicyDocument: {
            Statement: [
              Match.objectLike({
                Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                Resource: { 'Fn::GetAtt': [logGroup.asString(), 'Arn'] },
              }),
            ],
          },
        },
      ],
    });
  });

  it('takes its environment by contract key, besides the Powertools settings', () => {
    const stack = testStack();
    const fn = new StreamgateFunction(stack, 'Message', {
      handlerDir: 'message',
      catalog,
      logRetention,
      environment: { topicShards: '8' },
    });
    fn.setEnvironment({ callbackUrl: 'https://callback', webSocketEdgeUrl: undefined });
    expect(variablesOf(Template.fromStack(stack), 'message')).toEqual({
      POWERTOOLS_SERVICE_NAME: 'message',
      POWERTOOLS_METRICS_NAMESPACE: 'streamgate',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
      TOPIC_SHARDS: '8',
      CALLBACK_URL: 'https://callback',
    });
  });

  it('acknowledges the runtime finding once, with its reason', () => {
    const stack = testStack();
    const fn = new StreamgateFunction(stack, 'Token', { handlerDir: 'token', catalog, logRetention });
    const acknowledged = fn.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules');
    expect(JSON.stringify(acknowledged)).toMatch(/AwsSolutions-L1.*Node\.js 22/);
  });
});

/**
 * Every IAM action this app grants, with the resource types the Service Authorization Reference documents for it
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/, one list_<service>.html page per
 * service). `'*'`: the action supports no resource-level permissions, so it must be granted on `*` (an ARN would
 * match nothing and grant nothing). Otherwise: the ARN pattern and the CloudFormation types that produce it.
 */
export type ResourceTypes = '*' | { readonly arn: RegExp; readonly cfnTypes: readonly string[] };

const logGroup = { arn: /:logs:[^:]*:[^:]*:log-group:/, cfnTypes: ['AWS::Logs::LogGroup'] };
const queue = { arn: /:sqs:/, cfnTypes: ['AWS::SQS::Queue'] };
const topic = { arn: /:sns:/, cfnTypes: ['AWS::SNS::Topic'] };

export const IAM_RESOURCE_TYPES: Record<string, ResourceTypes> = {
  // CloudWatch (list_amazoncloudwatch.html): alarm reads take `alarm`; metric reads and PutMetricData take no
  // resource (an optional `dataset` type is unused here); DescribeAlarmsForMetric takes none.
  'cloudwatch:DescribeAlarms': { arn: /:cloudwatch:[^:]*:[^:]*:alarm:/, cfnTypes: ['AWS::CloudWatch::Alarm'] },
  'cloudwatch:DescribeAlarmHistory': { arn: /:cloudwatch:[^:]*:[^:]*:alarm:/, cfnTypes: ['AWS::CloudWatch::Alarm'] },
  'cloudwatch:DescribeAlarmsForMetric': '*',
  'cloudwatch:DescribeAnomalyDetectors': '*',
  'cloudwatch:DescribeInsightRules': '*',
  'cloudwatch:GetMetricData': '*',
  'cloudwatch:GetMetricStatistics': '*',
  'cloudwatch:ListMetrics': '*',
  'cloudwatch:PutMetricData': '*',
  // CloudWatch Logs (list_amazoncloudwatchlogs.html).
  'logs:CreateLogGroup': logGroup,
  'logs:CreateLogStream': logGroup,
  'logs:PutLogEvents': logGroup,
  'logs:DescribeLogStreams': logGroup,
  'logs:DescribeMetricFilters': logGroup,
  'logs:FilterLogEvents': logGroup,
  'logs:GetLogEvents': logGroup,
  'logs:GetLogGroupFields': logGroup,
  'logs:StartQuery': logGroup,
  'logs:DescribeLogGroups': '*',
  'logs:DescribeQueries': '*',
  'logs:GetQueryResults': '*',
  'logs:StopQuery': '*',
  // DynamoDB (list_amazondynamodb.html): `table`.
  'dynamodb:GetItem': { arn: /:dynamodb:/, cfnTypes: ['AWS::DynamoDB::Table'] },
  'dynamodb:PutItem': { arn: /:dynamodb:/, cfnTypes: ['AWS::DynamoDB::Table'] },
  'dynamodb:UpdateItem': { arn: /:dynamodb:/, cfnTypes: ['AWS::DynamoDB::Table'] },
  'dynamodb:Query': { arn: /:dynamodb:/, cfnTypes: ['AWS::DynamoDB::Table'] },
  // SNS (list_amazonsns.html): `topic`.
  'sns:Publish': topic,
  'sns:ListSubscriptionsByTopic': topic,
  // Secrets Manager (list_awssecretsmanager.html): `Secret`.
  'secretsmanager:GetSecretValue': { arn: /:secretsmanager:[^:]*:\d{12}:secret:/, cfnTypes: [] },
  // SQS (list_amazonsqs.html): `queue`.
  'sqs:SendMessage': queue,
  'sqs:ReceiveMessage': queue,
  'sqs:DeleteMessage': queue,
  'sqs:ChangeMessageVisibility': queue,
  'sqs:GetQueueAttributes': queue,
  'sqs:SetQueueAttributes': queue,
  // EventBridge (list_amazoneventbridge.html): PutEvents takes `event-bus`.
  'events:PutEvents': { arn: /:events:[^:]*:[^:]*:event-bus\//, cfnTypes: ['AWS::Events::EventBus'] },
  // X-Ray (list_awsx-ray.html): PutTraceSegments and PutTelemetryRecords take no resource.
  'xray:PutTraceSegments': '*',
  'xray:PutTelemetryRecords': '*',
  // Systems Manager (list_awssystemsmanager.html): UpdateOpsItem/GetOpsItem take `opsitem`; CreateOpsItem names no
  // existing OpsItem (granted on "*" as in the OpsCenter setup policies of the Systems Manager user guide).
  'ssm:CreateOpsItem': '*',
  'ssm:UpdateOpsItem': { arn: /:ssm:[^:]*:[^:]*:opsitem\//, cfnTypes: [] },
  'ssm:GetOpsItem': { arn: /:ssm:[^:]*:[^:]*:opsitem\//, cfnTypes: [] },
  'ssm:DescribeOpsItems': '*',
  // STS (list_awssecuritytokenservice.html): AssumeRole takes `role`.
  'sts:AssumeRole': { arn: /:iam::[^:]*:role\//, cfnTypes: ['AWS::IAM::Role'] },
  // S3 (list_amazons3.html): PutObject `object`, GetBucketLocation `bucket`, ListAllMyBuckets none.
  's3:PutObject': { arn: /\/\*$/, cfnTypes: ['AWS::S3::Bucket'] },
  's3:GetBucketLocation': { arn: /:s3:::/, cfnTypes: ['AWS::S3::Bucket'] },
  's3:ListAllMyBuckets': '*',
};

/**
 * DynamoDB (dynalite), S3 + SNS (fauxqs) and the FAKE EventBridge in a process of their own, so their CPU is
 * not the benchmark client's. Prints one line `AWS_ENV <json>` with the environment a server needs, then
 * serves until stdin closes.
 */
import { startAwsEnvironment } from '../../test/helpers/aws-environment.js';

const aws = await startAwsEnvironment();
process.stdout.write(`AWS_ENV ${JSON.stringify(aws.env)}\n`);
process.stdin.resume();
process.stdin.on('end', () => void aws.close().then(() => process.exit(0)));

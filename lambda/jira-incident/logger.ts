import { Logger } from '@aws-lambda-powertools/logger';

/** One JSON logger for the handler; POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL tune it. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'jira-incident' });

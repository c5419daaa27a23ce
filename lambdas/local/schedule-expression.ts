/**
 * The schedule expression grammar lives in core (rotation windows use it too); the local
 * scheduler keeps importing it from here.
 */
export {
  type CronSchedule,
  nextFireTime,
  parseScheduleExpression,
  type RateSchedule,
  type Schedule,
  ScheduleExpressionError,
} from '../core/schedule-expression.js';

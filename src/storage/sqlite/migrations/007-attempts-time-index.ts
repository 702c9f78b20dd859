/**
 * attemptsTimeIndex lets GET /v1/stats count the attempts of the last minute off an index range
 * instead of scanning the whole attempt history on every dashboard refresh.
 */
export const attemptsTimeIndex = {
  version: 7,
  name: "attempts-time-index",
  sql: "CREATE INDEX attempts_by_time ON attempts (attempted_at);",
};

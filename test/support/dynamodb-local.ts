// Tests start DynamoDB Local through the same launcher `npm start` uses, so a
// test backend can never drift from the development one.
export { type DynamoDbLocal, startDynamoDbLocal } from "../../src/adapters/dynamodb/dynamodb-local.js";
export { DynamoDbLocalError } from "../../src/adapters/dynamodb/errors.js";

export { startChatFixture, defaultAnswer, type ChatFixture, type ChatFixtureOptions, type FixtureFailure, type FixtureRequest, type LoggedRequest } from './chat-fixture.js';

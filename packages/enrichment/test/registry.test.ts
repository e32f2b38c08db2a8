import { ConfigError, loadConfig, z } from '@ragline/config';
import { describe, expect, it } from 'vitest';
import { chatRegistryFromConfig, chatSecrets, ChatSettings, createChatRegistry, parseChatBackends, ragflowLlmName, UnknownChatModelError } from '../src/index.js';

const settings = (env: Record<string, string>) => loadConfig(z.object(ChatSettings), env);

describe('ragflowLlmName', () => {
  it("is RAGFlow's split_model_name: the model part, split from the right", () => {
    expect(ragflowLlmName('qwen-plus@Tongyi-Qianwen')).toBe('qwen-plus');
    expect(ragflowLlmName('gpt-4o')).toBe('gpt-4o');
    expect(ragflowLlmName('m@inst@Factory')).toBe('m');
    expect(ragflowLlmName('nomic@q8_0@lmstudio@LM-Studio')).toBe('nomic@q8_0');
    expect(ragflowLlmName('')).toBe('');
  });
});

describe('chat registry', () => {
  const spec = (model: string) => ({ baseUrl: 'http://127.0.0.1:9', model });
  it('resolves an llm_id by itself, then by its model name, then the CHAT_MODEL default; nothing else', () => {
    const r = createChatRegistry({ defaultSpec: spec('default-model'), backends: { 'qwen-plus@Tongyi-Qianwen': spec('Qwen/Qwen2.5-7B'), 'glm-4': spec('glm-4-9b') } });
    expect(r.forLlmId('qwen-plus@Tongyi-Qianwen')).toMatchObject({ key: 'qwen-plus@Tongyi-Qianwen', llmName: 'qwen-plus', model: { model: 'Qwen/Qwen2.5-7B' } });
    expect(r.forLlmId('glm-4@ZHIPU-AI')).toMatchObject({ key: 'glm-4', llmName: 'glm-4' });
    expect(r.forLlmId('default-model@OpenAI-API-Compatible')).toMatchObject({ key: 'default', llmName: 'default-model' });
    expect(r.forLlmId('')).toMatchObject({ key: 'default' });
    // one model object per backend, shared by every task
    expect(r.forLlmId('glm-4@ZHIPU-AI').model).toBe(r.forLlmId('glm-4').model);
    expect(() => r.forLlmId('qwen-max@Tongyi-Qianwen')).toThrow(UnknownChatModelError);
    expect(() => r.forLlmId('qwen-max@Tongyi-Qianwen')).toThrow(/"qwen-max@Tongyi-Qianwen".*configured: qwen-plus@Tongyi-Qianwen, glm-4, default-model \(CHAT_MODEL\)/);
    expect(() => createChatRegistry({}).forLlmId('')).toThrow('no chat backend is configured');
    expect(r.canPull()).toBe(true);
    expect(r.breakerStates()).toEqual({ 'qwen-plus@Tongyi-Qianwen': 'closed', 'glm-4': 'closed', default: 'closed' });
  });
});

describe('chat settings', () => {
  it('defaults MAX_CONCURRENT_CHATS to 10 as RAGFlow', () => {
    const cfg = settings({});
    expect(cfg.MAX_CONCURRENT_CHATS).toBe(10);
    expect(chatRegistryFromConfig(cfg).limiter.concurrency).toBe(10);
  });

  it('reads CHAT_BACKENDS with the global timeout and retries as defaults', () => {
    const cfg = settings({ CHAT_TIMEOUT_MS: '5000', CHAT_BACKENDS: JSON.stringify({ 'a@F': { base_url: 'http://x:1', model: 'A', api_key: 'sk-1', max_retries: 1 } }) });
    expect(parseChatBackends(cfg.CHAT_BACKENDS, cfg)).toEqual({ 'a@F': { baseUrl: 'http://x:1', model: 'A', apiKey: 'sk-1', timeoutMs: 5000, maxRetries: 1, maxInputTokens: 8192 } });
    expect(chatSecrets({ ...cfg, CHAT_API_KEY: 'sk-0' })).toEqual(['sk-0', 'sk-1']);
  });

  it('names the key and field of a bad CHAT_BACKENDS without echoing values', () => {
    const cfg = settings({});
    const bad = (raw: string) => {
      try {
        parseChatBackends(raw, cfg);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('accepted');
    };
    expect(bad('{nope').message).toBe('invalid configuration: CHAT_BACKENDS: not valid JSON');
    const e = bad(JSON.stringify({ m: { base_url: 'ftp://secret-host', model: 'x', api_key: 'sk-leak' } }));
    expect(e.keys).toEqual(['CHAT_BACKENDS']);
    expect(e.message).toContain('m.base_url: must be an http(s) URL');
    expect(e.message).not.toContain('sk-leak');
    expect(e.message).not.toContain('secret-host');
    expect(bad(JSON.stringify({ m: { base_url: 'http://h', model: 'x', extra: 1 } })).message).toContain('extra');
  });

  it('requires CHAT_MODEL with CHAT_BASE_URL and validates numbers by name', () => {
    expect(() => chatRegistryFromConfig(settings({ CHAT_BASE_URL: 'http://h:1' }))).toThrow(/CHAT_MODEL/);
    expect(() => settings({ MAX_CONCURRENT_CHATS: '0' })).toThrow(/MAX_CONCURRENT_CHATS/);
    expect(() => settings({ CHAT_BASE_URL: 'nats://h' })).toThrow(/CHAT_BASE_URL/);
  });
});

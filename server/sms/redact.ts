/**
 * Removes secrets from text that is about to leave the server in a text message. Tool errors and
 * Claude's questions routinely quote commands, environment dumps and config files; a phone's lock
 * screen is no place for an API key. Order matters: whole blocks first, then specific token shapes,
 * then generic `key=value` pairs.
 */

const REDACTED = '[redacted]'

type Rule = [RegExp, string | ((...m: string[]) => string)]

/** Credential shapes that are secret wherever they appear; the server's and the plugin's logs mask them too (server/log-masking.ts). */
const TOKEN_RULES: Rule[] = [
  // PEM private keys (RSA, EC, OPENSSH, ENCRYPTED ...), also when cut off before the END line.
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, '[redacted private key]'],
  // URLs with credentials: scheme://user:pass@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/:@]+:[^\s/@]+@/gi, `$1${REDACTED}@`],
  // JWTs (three base64url parts, header starting with {" = eyJ)
  [/\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}/g, REDACTED],
  // Anthropic and OpenAI keys: sk-ant-..., sk-proj-..., sk-...
  [/\bsk-(?:ant-)?[\w-]{16,}/g, REDACTED],
  // Stripe-style live/test keys
  [/\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}/g, REDACTED],
  // GitHub tokens: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained (github_pat_)
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/g, REDACTED],
  [/\bgithub_pat_[A-Za-z0-9_]{20,}/g, REDACTED],
  // Slack tokens
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/g, REDACTED],
  // Google API keys
  [/\bAIza[0-9A-Za-z_-]{35}/g, REDACTED],
  // AWS access key ids (long-term AKIA, temporary ASIA)
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, REDACTED],
  // AWS secret access keys: 40 base64 characters after a name that says so
  [/\b(aws_?secret_?access_?key|aws_?secret|secret_?access_?key)(["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{40}/gi, `$1$2${REDACTED}`],
]

// key=value and key: value where the key names a secret
const KEY_VALUE_RULE: Rule = [
  /\b([\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret)[\w-]*)(["']?\s*[:=]\s*)("[^"\n]*"|'[^'\n]*'|[^\s,;&"']+)/gi,
  (_m, key: string, sep: string, value: string) => (value.startsWith('[redacted') ? `${key}${sep}${value}` : `${key}${sep}${REDACTED}`),
]

// Authorization headers. Texts only: in a log line "Basic settings saved" is no header (logs mask
// "Bearer ..." themselves).
const AUTHORIZATION_RULE: Rule = [/\b(Bearer|Basic|Token)\s+[\w.~+/-]{8,}=*/g, `$1 ${REDACTED}`]
const RULES: Rule[] = [...TOKEN_RULES, AUTHORIZATION_RULE, KEY_VALUE_RULE]
const LOG_RULES: Rule[] = [...TOKEN_RULES, KEY_VALUE_RULE]

function apply(rules: Rule[], text: string): string {
  let out = text
  for (const [pattern, replacement] of rules) out = out.replace(pattern, replacement as string)
  return out
}

export function redactSecrets(text: string): string {
  return apply(RULES, text)
}

/** The token shapes and `key=value` secrets, for log lines. */
export function redactTokenShapes(text: string): string {
  return apply(LOG_RULES, text)
}

/**
 * The same for every string inside a JSON value, keys included (event details are stored and shown on
 * the dashboard). Details are at most 20 levels deep (contract/api.ts); anything deeper is dropped
 * rather than stored unredacted.
 */
export function redactSecretsDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactSecrets(value) as T
  if (value === null || typeof value !== 'object') return value
  if (depth > 64) return '[redacted: nested too deep]' as T
  if (Array.isArray(value)) return value.map((v) => redactSecretsDeep(v, depth + 1)) as T
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactSecrets(k), redactSecretsDeep(v, depth + 1)])) as T
}

/**
 * Well-known credential shapes, each as a provider issues it (fake values of the real format), for
 * tests that prove they are masked in logs and redacted from stored details.
 */
export const TOKEN_SHAPES: [name: string, text: string, secret: string][] = [
  ['Anthropic key', 'ANTHROPIC_API_KEY is sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa', 'Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa'],
  ['GitHub classic token', 'remote: ghp_R4nd0mT0k3nV4lu3F0rT3st1ng0123456 rejected', 'R4nd0mT0k3nV4lu3F0rT3st1ng0123456'],
  ['GitHub fine-grained token', 'using github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'],
  ['AWS access key id', 'key AKIAQWERTYUIOPASDFGH denied', 'AKIAQWERTYUIOPASDFGH'],
  ['Slack token', 'slack xoxb-123456789012-abcdefghijklmnop failed', '123456789012-abcdefghijklmnop'],
  ['JWT', 'session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhYmMxMjMifQ.Zm9vYmFyYmF6cXV4 expired', 'eyJzdWIiOiJhYmMxMjMifQ'],
  ['Bearer header', 'curl -H "Authorization: Bearer qwertyuiopasdfgh1234"', 'qwertyuiopasdfgh1234'],
  ['Stripe live key', 'stripe sk_live_51HqLyjWDarjtT1zdp7dcXyz now', '51HqLyjWDarjtT1zdp7dcXyz'],
  ['generic api_key=', 'GET /v1?api_key=9f8e7d6c5b4a3928 failed', '9f8e7d6c5b4a3928'],
]

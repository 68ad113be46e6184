import express from 'express'

// The baseline: a bare Express app on the same machine, in a process of its own, answering a JSON POST
// the way the real routes do (JSON body parsed, JSON answer), with no database and no auth.
const app = express()
app.use(express.json({ limit: '64kb' }))
app.post('/bare', (req, res) => {
  res.json({ status: 'active', monitoring: true, got: typeof req.body })
})
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address && typeof address === 'object') console.log(JSON.stringify({ url: `http://127.0.0.1:${address.port}`, msg: 'bare express server listening on' }))
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))

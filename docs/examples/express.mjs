// Express: the handler reads the body itself; if a body parser ran first, it uses req.body.
import express from 'express'
import { createSignetHandler } from 'signet-tracker/server'

const signet = createSignetHandler({
  projects: { 'GSN-123456-A': { secureMode: 'enforce', secrets: [process.env.SIGNET_SECRET] } },
  onEvents: async (accepted) => {
    await db.events.upsertMany(accepted, { key: 'id' }) // your store
  },
})

const app = express()
app.post('/track', signet.node)
app.options('/track', signet.node)
app.listen(8787)

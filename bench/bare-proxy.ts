// The baseline a team would write instead of Ficus: @fastify/http-proxy in front of one upstream,
// nothing else. UPSTREAM and PORT from the environment; prints its port.
import proxy from '@fastify/http-proxy'
import Fastify from 'fastify'

const app = Fastify({ logger: false })
await app.register(proxy, { upstream: process.env.UPSTREAM ?? 'http://127.0.0.1:1' })
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
process.stdout.write(`${JSON.stringify({ url: address })}\n`)

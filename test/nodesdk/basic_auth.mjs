// Asks a gateway for its topology through Camunda's Node SDK (@camunda8/sdk) with basic
// authentication, as a client of Camunda 8.8 Self-Managed does. Usage: node basic_auth.mjs
// HOST:PORT, with CAMUNDA_BASIC_AUTH_USERNAME and CAMUNDA_BASIC_AUTH_PASSWORD in the
// environment. Prints the gateway version; exits 1 with the error on stderr. Run by
// basic_auth_e2e_test.go.
import { Camunda8 } from '@camunda8/sdk'

const [address] = process.argv.slice(2)
if (!address) {
  console.error('usage: node basic_auth.mjs HOST:PORT')
  process.exit(2)
}

const zbc = new Camunda8({
  ZEEBE_GRPC_ADDRESS: `grpc://${address}`, // grpc:// is plaintext, as the dev engine serves
  CAMUNDA_AUTH_STRATEGY: 'BASIC', // the user name and password come from the environment
  ZEEBE_GRPC_CLIENT_RETRY: false, // report the gateway's first refusal instead of retrying it
  CAMUNDA_LOG_LEVEL: 'error',
  ZEEBE_CLIENT_LOG_LEVEL: 'NONE',
}).getZeebeGrpcApiClient()

try {
  const topology = await zbc.topology()
  console.log(topology.gatewayVersion)
  await zbc.close(5000)
  process.exit(0)
} catch (err) {
  console.error(err?.message ?? String(err))
  process.exit(1)
}

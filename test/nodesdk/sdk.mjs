// Drives the dev engine through Camunda's official Node SDK (@camunda8/sdk, installed in
// test/node_modules): deploy double.bpmn, run a polling job worker, create an instance with
// result. Usage: node sdk.mjs HOST:PORT RESULT_FILE. Writes {"processInstanceKey", "variables"}
// as JSON to RESULT_FILE (stdout carries the SDK's logs); exits 1 with the error on stderr. Run by
// nodesdk_e2e_test.go.
import { Camunda8 } from '@camunda8/sdk'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const [address, resultFile] = process.argv.slice(2)
if (!address || !resultFile) {
  console.error('usage: node sdk.mjs HOST:PORT RESULT_FILE (HOST:PORT: the dev engine gateway address)')
  process.exit(2)
}

const zbc = new Camunda8({
  ZEEBE_GRPC_ADDRESS: `grpc://${address}`, // grpc:// is plaintext, as the dev engine serves
  CAMUNDA_AUTH_STRATEGY: 'NONE',
  ZEEBE_GRPC_CLIENT_RETRY: false, // report the gateway's first refusal instead of retrying it
  ZEEBE_GRPC_WORKER_LONGPOLL_SECONDS: 2, // close waits for the poll in flight
  CAMUNDA_LOG_LEVEL: 'error',
  ZEEBE_CLIENT_LOG_LEVEL: 'ERROR',
}).getZeebeGrpcApiClient()

async function main() {
  const deployed = await zbc.deployResource({
    processFilename: join(dirname(fileURLToPath(import.meta.url)), 'double.bpmn'),
  })
  const process0 = deployed.deployments[0]?.process
  if (process0?.bpmnProcessId !== 'nodeSdkDouble') {
    throw new Error(`deployment answered ${JSON.stringify(deployed)}, want process nodeSdkDouble`)
  }

  zbc.createWorker({
    taskType: 'node-sdk.double',
    maxJobsToActivate: 4,
    taskHandler: (job) => job.complete({ doubled: job.variables.n * 2, worker: 'node-sdk' }),
  })

  const result = await zbc.createProcessInstanceWithResult({
    bpmnProcessId: 'nodeSdkDouble',
    variables: { n: 21 },
    requestTimeout: 20000,
  })
  if (result.variables.doubled !== 42 || result.variables.worker !== 'node-sdk') {
    throw new Error(`instance result ${JSON.stringify(result.variables)}, want doubled 42 by worker node-sdk`)
  }
  const out = { processInstanceKey: String(result.processInstanceKey), variables: result.variables }
  writeFileSync(resultFile, JSON.stringify(out))
}

try {
  await main()
  await zbc.close(5000)
  process.exit(0)
} catch (err) {
  console.error(err?.stack ?? String(err))
  process.exit(1)
}

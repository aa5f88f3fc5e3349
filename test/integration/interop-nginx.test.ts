import { startNginx } from './peers/processes.ts'
import { proxyScenarios } from './peers/proxy-scenarios.ts'

// nginx (Debian's package) started by the test on a free port, proxying to the reference
// server. The config is peers/nginx.conf.template, the one README "Behind a proxy / TLS" shows.
proxyScenarios('nginx', startNginx)

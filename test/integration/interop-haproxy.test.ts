import { startHaproxy } from './peers/processes.ts'
import { proxyScenarios } from './peers/proxy-scenarios.ts'

// HAProxy (Debian's package) started by the test on a free port, proxying to the reference
// server. The config is peers/haproxy.cfg.template, the one README "Behind a proxy / TLS" shows.
proxyScenarios('HAProxy', startHaproxy)

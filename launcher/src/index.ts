export { startStack, type RunningStack, type StackOptions, type HealthResult, type StackEndpoints } from './stack.ts';
export { services, stackPortVariables, type ServiceDef, type EnvContext } from './services.ts';
export { LauncherError } from './errors.ts';
export { pidAlive } from './procs.ts';

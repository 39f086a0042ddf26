export * from './cluster';
export * from './kubectl';
export * from './images';
export * from './synth';
export * from './fixture-app';
export * from './small-service';

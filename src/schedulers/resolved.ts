import type { DDIMConfig } from './ddim';
import type { DDPMConfig } from './ddpm';
import type { EulerConfig } from './euler';
import type { EulerAncestralConfig } from './eulerAncestral';
import type { LCMConfig } from './lcm';

/** A resolved config of any supported class (discriminated by `_class_name`). */
export type ResolvedConfig = DDPMConfig | DDIMConfig | LCMConfig | EulerConfig | EulerAncestralConfig;

/**
 * LoRA adapters on ONNX U-Nets (issue 13): safetensors parsing (safetensors.ts), the three key layouts
 * (keys.ts), the graph's weight index (onnxWeights.ts) and the in-place merge (merge.ts). No onnxruntime-web here:
 * the merge changes the graph's bytes before ort.ts makes the session (unetSession.ts, imported by the handler
 * directly, reads a U-Net, merges and makes its session; fetch.ts gets a LoRA file's bytes).
 */
export { mergeLoras, mergeLorasAsync, type LoraAdapter, type LoraMergeProgress, type LoraMergeReport, type LoraMergeResult } from './merge';
export { isLoraScale, LORA_SCALE_RANGE } from './scale';
export { encodeSafetensors, parseSafetensors, tensorToFloat32, type SafetensorsFile, type SafetensorsTensor } from './safetensors';
export { normalizeLoraKeys, type LoraFormat, type NormalizedLora } from './keys';
export { indexWeights, modulePathOfNode, type ModuleWeight, type WeightIndex } from './onnxWeights';

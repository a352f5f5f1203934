/**
 * LoRA adapters on ONNX U-Nets (issue 13): safetensors parsing (safetensors.ts), the three key layouts
 * (keys.ts), the graph's weight index (onnxWeights.ts) and the in-place merge (merge.ts). No onnxruntime-web here:
 * the merge changes the graph's bytes before ort.ts makes the session.
 */
export { mergeLoras, type LoraAdapter, type LoraMergeReport, type LoraMergeResult } from './merge';
export { isLoraScale, LORA_SCALE_RANGE } from './scale';
export { encodeSafetensors, parseSafetensors, tensorToFloat32, type SafetensorsFile, type SafetensorsTensor } from './safetensors';
export { normalizeLoraKeys, type LoraFormat, type NormalizedLora } from './keys';
export { indexWeights, modulePathOfNode, type ModuleWeight, type WeightIndex } from './onnxWeights';

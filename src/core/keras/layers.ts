/** Built-in Keras layer classes (Keras 2, Keras 3 and tfjs-layers names). Anything else is custom code. */
export const BUILTIN_LAYERS = new Set([
  "InputLayer", "Dense", "EinsumDense", "Activation", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
  "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Flatten", "Reshape", "Permute",
  "RepeatVector", "Masking", "Identity", "ActivityRegularization",
  "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "Convolution1D",
  "Convolution2D", "Convolution3D", "Deconvolution2D", "Deconv2D", "DepthwiseConv1D", "DepthwiseConv2D",
  "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D",
  "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
  "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
  "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D",
  "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
  "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
  "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalAvgPool1D",
  "GlobalAvgPool2D",
  "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization", "Normalization",
  "Rescaling", "Resizing", "CenterCrop",
  "Embedding", "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "RNN", "Bidirectional",
  "TimeDistributed", "ConvLSTM2D",
  "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
  "ReLU", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax",
  "MultiHeadAttention", "Attention", "AdditiveAttention",
  "Sequential", "Functional", "Model",
]);

/** Layers that run code stored in the model file: refused, never executed. */
export const CODE_LAYERS = new Set(["Lambda", "TFOpLambda", "SlicingOpLambda"]);

/** Keras spells several layer classes two ways (tfjs registers only the canonical one). */
const CLASS_ALIASES: Record<string, string> = {
  Convolution1D: "Conv1D",
  Convolution2D: "Conv2D",
  Convolution3D: "Conv3D",
  Deconvolution2D: "Conv2DTranspose",
  Deconv2D: "Conv2DTranspose",
  SeparableConvolution1D: "SeparableConv1D",
  SeparableConvolution2D: "SeparableConv2D",
  MaxPool1D: "MaxPooling1D",
  MaxPool2D: "MaxPooling2D",
  MaxPool3D: "MaxPooling3D",
  AvgPool1D: "AveragePooling1D",
  AvgPool2D: "AveragePooling2D",
  AvgPool3D: "AveragePooling3D",
  GlobalMaxPool1D: "GlobalMaxPooling1D",
  GlobalMaxPool2D: "GlobalMaxPooling2D",
  GlobalMaxPool3D: "GlobalMaxPooling3D",
  GlobalAvgPool1D: "GlobalAveragePooling1D",
  GlobalAvgPool2D: "GlobalAveragePooling2D",
  GlobalAvgPool3D: "GlobalAveragePooling3D",
};

export function canonicalLayerClass(className: string): string {
  return CLASS_ALIASES[className] ?? className;
}

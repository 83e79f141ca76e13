//===- LlmCommands.h - nibble-run's LLM subcommands -------------*- C++ -*-===//
//
// nibble-run generate | perplexity | logits MODEL ...: MODEL is a GGUF file
// or a Hugging Face directory (imported, built and JIT-compiled on the fly;
// the float archive is cached under ~/.cache/nibble/jit) or a module of the
// transformer builder's shape (.mlir, with --tokenizer).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_TOOLS_NIBBLE_RUN_LLMCOMMANDS_H
#define NIBBLE_TOOLS_NIBBLE_RUN_LLMCOMMANDS_H

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace nibble {

/// Whether the command line chose one of the LLM subcommands.
bool llmSubcommandChosen();

/// Runs the chosen LLM subcommand; returns the process exit status.
int runLlmSubcommand(mlir::MLIRContext &context);

} // namespace nibble

#endif // NIBBLE_TOOLS_NIBBLE_RUN_LLMCOMMANDS_H

#include "coordinator/commands.h"

int main(int argc, char** argv) { return gb::RunCommandLine(argc, argv); }

/* LLVM's x86-64 disassembler as a length oracle (see llvm_x86.h). */
#include "fuzz/llvm_x86.h"

#include <llvm-c/Disassembler.h>
#include <llvm-c/Target.h>
#include <stdlib.h>
#include <string.h>

#include "hook/insn.h"

static LLVMDisasmContextRef llvm_x86_context(void)
{
	static LLVMDisasmContextRef ctx;

	if (!ctx) {
		LLVMInitializeX86TargetInfo();
		LLVMInitializeX86TargetMC();
		LLVMInitializeX86Disassembler();
		ctx = LLVMCreateDisasm("x86_64-unknown-linux-gnu", NULL, 0, NULL, NULL);
		if (!ctx)
			abort();
		/* Intel syntax: the mnemonic comes first, operands after it. */
		LLVMSetDisasmOptions(ctx, LLVMDisassembler_Option_AsmPrinterVariant);
	}
	return ctx;
}

/* The names LLVM 14 prints for a prefix it did not attach. */
static bool is_prefix_name(const char *w, size_t n)
{
	static const char *const names[] = {
		"lock", "rep",	 "repne", "xacquire", "xrelease", "notrack", "data16", "addr32",
		"rex",	"rex64", "cs",	  "ds",	      "es",	  "fs",	     "gs",     "ss",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && !strncmp(w, names[i], n))
			return true;
	return false;
}

/* The first word of text that is not a prefix name ("" if none). */
static const char *first_non_prefix(const char *text)
{
	const char *p = text;

	for (;;) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t");
		if (!*p || !is_prefix_name(p, n))
			return p;
		p += n;
	}
}

void llvm_x86_decode(const uint8_t *code, size_t avail, struct llvm_insn *out)
{
	/* LLVM may read up to 15 bytes whatever avail says: give it a copy. */
	uint8_t buf[INSN_MAX_LEN];
	size_t n = avail < sizeof(buf) ? avail : sizeof(buf), at = 0;

	memcpy(buf, code, n);
	memset(out, 0, sizeof(*out));
	/* cppcheck-suppress knownConditionTrueFalse ; it assumes a caller's avail of 0 */
	while (at < n) {
		size_t len = LLVMDisasmInstruction(llvm_x86_context(), buf + at, n - at, 0x1000,
						   out->text, sizeof(out->text));
		if (len == 0)
			break;
		at += len;
		out->mnemonic = first_non_prefix(out->text);
		if (*out->mnemonic) {
			out->length = at;
			return;
		}
	}
	out->length = 0;
	out->text[0] = '\0';
	out->mnemonic = out->text;
}

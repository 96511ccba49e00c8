/* Names for log lines, generated from the .def tables. */
#include <stddef.h>

#include "vmx_defs.h"

const char *vmcs_field_name(uint32_t encoding)
{
	switch (encoding) {
#define VMCS_FIELD(name, enc) \
	case enc:             \
		return #name;
#include "vmcs_fields.def"
#undef VMCS_FIELD
	default:
		return "unknown VMCS field";
	}
}

const char *exit_reason_name(uint32_t basic_reason)
{
	switch (basic_reason) {
#define EXIT_REASON(name, num) \
	case num:              \
		return #name;
#include "exit_reasons.def"
#undef EXIT_REASON
	default:
		return "unknown exit reason";
	}
}

const char *vm_error_str(uint32_t number)
{
	switch (number) {
#define VM_ERROR(num, text) \
	case num:           \
		return text;
#include "vm_errors.def"
#undef VM_ERROR
	default:
		return "unknown VM-instruction error";
	}
}

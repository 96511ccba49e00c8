#include "pit.h"

#include "arch/x86/intrin.h"

#define PIT_HZ 1193182u
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT_B 0x61
#define PORT_B_GATE2 0x01
#define PORT_B_SPEAKER 0x02
#define PORT_B_OUT2 0x20
/* A bound on polling, in case OUT2 never rises: the delay must end. */
#define MAX_POLLS 10000000u

static void delay_chunk(uint32_t us)
{
	uint32_t count = (uint32_t)(((uint64_t)PIT_HZ * us) / 1000000u);
	if (count == 0)
		count = 1;
	if (count > 0xffff)
		count = 0xffff;

	uint8_t b = inb(PORT_B) & (uint8_t) ~(PORT_B_SPEAKER | PORT_B_GATE2);
	outb(PORT_B, b);
	outb(PIT_CMD, 0xb0); /* channel 2, lobyte/hibyte, mode 0 */
	outb(PIT_CH2, (uint8_t)count);
	outb(PIT_CH2, (uint8_t)(count >> 8));
	outb(PORT_B, b | PORT_B_GATE2); /* the gate's rising edge starts it */
	for (uint32_t i = 0; i < MAX_POLLS && !(inb(PORT_B) & PORT_B_OUT2); i++)
		cpu_pause();
	outb(PORT_B, b);
}

void pit_delay_us(uint32_t us)
{
	while (us) {
		uint32_t chunk = us > 50000 ? 50000 : us;
		delay_chunk(chunk);
		us -= chunk;
	}
}

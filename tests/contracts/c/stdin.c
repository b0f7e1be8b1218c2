/* Reads all of stdin; reports size, lines and a checksum. */
#include <stdio.h>

int main(void) {
    unsigned long long bytes = 0, lines = 0, sum = 0;
    char first[128] = {0};
    int c, pos = 0;
    while ((c = getchar()) != EOF) {
        bytes++;
        sum = sum * 131 + (unsigned char)c;
        if (c == '\n') lines++;
        else if (lines == 0 && pos < 127) first[pos++] = (char)c;
    }
    printf("bytes=%llu lines=%llu sum=%llu first=%s\n", bytes, lines, sum, first);
    return 0;
}

#include <nifti/nifti1_io.h>
#include <zlib.h>

/* MPI constants that the `mpi` crate's bindings leave out: `MPI_IN_PLACE`
 * is a cast in a macro (`((void *) 1)` in Open MPI, `(void *) -1` in
 * MPICH), which bindgen does not translate. Compiled by build.rs against
 * the installed mpi.h, so the value is that library's own. */
#include <mpi.h>

void *nabla_mpi_in_place(void) { return MPI_IN_PLACE; }

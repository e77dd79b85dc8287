/* Test helper: edit a results file the way other writers would make it.
 *   results_edit FILE attr OBJ NAME VALUE   string attribute NAME on OBJ ("/" for the root)
 *   results_edit FILE unlink OBJ            remove OBJ (e.g. /clients, as dsend serve writes none)
 *   results_edit FILE drop-field DSET FIELD rewrite compound DSET without member FIELD */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_attr(hid_t f, const char *obj, const char *name, const char *value)
{
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    if (o < 0)
        return -1;
    if (H5Aexists(o, name) > 0)
        H5Adelete(o, name);
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) + 1);
    hid_t a = H5Acreate2(o, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a >= 0 ? H5Awrite(a, t, value) : -1;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    H5Oclose(o);
    return e < 0 ? -1 : 0;
}

static int drop_field(hid_t f, const char *dset, const char *field)
{
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t ft = H5Dget_type(d), s = H5Dget_space(d);
    int nm = H5Tget_nmembers(ft);
    size_t size = 0;
    for (int i = 0; i < nm; i++) {
        char *n = H5Tget_member_name(ft, (unsigned)i);
        if (strcmp(n, field) != 0) {
            hid_t mt = H5Tget_member_type(ft, (unsigned)i);
            size += H5Tget_size(mt);
            H5Tclose(mt);
        }
        H5free_memory(n);
    }
    hid_t nt = H5Tcreate(H5T_COMPOUND, size);
    size_t off = 0;
    for (int i = 0; i < nm; i++) {
        char *n = H5Tget_member_name(ft, (unsigned)i);
        if (strcmp(n, field) != 0) {
            hid_t mt = H5Tget_member_type(ft, (unsigned)i);
            H5Tinsert(nt, n, off, mt);
            off += H5Tget_size(mt);
            H5Tclose(mt);
        }
        H5free_memory(n);
    }
    hssize_t rows = H5Sget_simple_extent_npoints(s);
    void *buf = malloc((size_t)(rows ? rows : 1) * size);
    int rc = buf && H5Dread(d, nt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0 ? 0 : -1;
    H5Dclose(d);
    if (rc == 0 && H5Ldelete(f, dset, H5P_DEFAULT) >= 0) {
        hid_t nd = H5Dcreate2(f, dset, nt, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        rc = nd >= 0 && H5Dwrite(nd, nt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0 ? 0 : -1;
        if (nd >= 0)
            H5Dclose(nd);
    }
    free(buf);
    H5Tclose(nt);
    H5Tclose(ft);
    H5Sclose(s);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: results_edit FILE attr OBJ NAME VALUE | unlink OBJ | drop-field DSET FIELD\n");
        return 2;
    }
    hid_t f = H5Fopen(argv[1], H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0)
        return 1;
    int rc = -1;
    if (!strcmp(argv[2], "attr") && argc == 6)
        rc = set_attr(f, argv[3], argv[4], argv[5]);
    else if (!strcmp(argv[2], "unlink") && argc == 4)
        rc = H5Ldelete(f, argv[3], H5P_DEFAULT) < 0 ? -1 : 0;
    else if (!strcmp(argv[2], "drop-field") && argc == 5)
        rc = drop_field(f, argv[3], argv[4]);
    if (H5Fclose(f) < 0)
        rc = -1;
    if (rc)
        fprintf(stderr, "results_edit: %s %s failed\n", argv[1], argv[2]);
    return rc ? 1 : 0;
}

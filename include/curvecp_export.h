/*  curvecp_export.h - what every public header of curvecp needs: which
    declarations the shared libraries export, and C linkage for C++.

    The libraries are built with hidden visibility, so a function leaves
    libcurvecp.so / libcurvecp-zmq.so only if its declaration in a public
    header says CURVECP_EXPORT; everything else (handshake, session,
    stream, the tools' plumbing) stays inside and out of the ABI. The
    build defines CURVECP_BUILDING; programs that use the libraries do
    not and need nothing here but the C++ guards.                       */
#ifndef CURVECP_EXPORT_H_INCLUDED
#define CURVECP_EXPORT_H_INCLUDED

#if defined (CURVECP_BUILDING) && (defined (__GNUC__) || defined (__clang__))
#   define CURVECP_EXPORT __attribute__ ((visibility ("default")))
#else
#   define CURVECP_EXPORT
#endif

#ifdef __cplusplus
#   define CURVECP_BEGIN_DECLS extern "C" {
#   define CURVECP_END_DECLS   }
#else
#   define CURVECP_BEGIN_DECLS
#   define CURVECP_END_DECLS
#endif

#endif

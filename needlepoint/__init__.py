"""Needlepoint: an open-source clinical system for dry-needling clinics."""

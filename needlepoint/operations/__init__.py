"""Operations: backups, restores and their verification."""
